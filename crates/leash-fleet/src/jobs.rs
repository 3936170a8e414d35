//! Jobs across devices. The sender publishes a [`JobRequest`] into the jobs
//! stream with `Nats-Msg-Id` set to the request's id, so a retried publish is
//! stored once; the receiver pulls from its durable consumer and acks
//! explicitly, only after the job is durably in its own queue (the daemon's
//! part). A message that is delivered again after a crash carries the same id,
//! which the receiver's store de-duplicates: a job never runs twice.

use std::time::Duration;

use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::{self, AckKind};
use futures_util::StreamExt;
use leash_config::{ExecutionMode, FleetConfig};

use crate::connection::Fleet;
use crate::envelope::{self, JobRequest, PROTOCOL_VERSION, SenderMismatch, check_sender};
use crate::error::FleetError;
use crate::subjects;

/// How long the receiver has to admit a job before it is delivered again.
pub const ACK_WAIT: Duration = Duration::from_secs(30);

/// A job the stream has stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SentJob {
    /// The job's message id (its dedup key everywhere).
    pub msg_id: String,
    /// The device it is for.
    pub to: String,
    /// The subject it was published on.
    pub subject: String,
    /// The stream's sequence number; `duplicate`: the id was already stored.
    pub sequence: u64,
    /// The stream already held this id: a retry, stored once.
    pub duplicate: bool,
}

/// A fresh message id: 128 random bits, hex.
pub fn new_msg_id() -> Result<String, FleetError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| FleetError::JetStream {
        action: "drawing a message id".to_owned(),
        detail: e.to_string(),
    })?;
    Ok(hex::encode(bytes))
}

impl Fleet {
    /// Sends `request` (its `from` must be this device) and waits until the
    /// stream stored it.
    pub async fn send_job(&self, request: &JobRequest) -> Result<SentJob, FleetError> {
        subjects::device(&request.to)?;
        let subject = subjects::job(&self.config.device, &request.to);
        let payload = envelope::encode(&subject, request)?;
        let ack = self
            .publish_once(&subject, payload, &request.msg_id)
            .await?;
        Ok(SentJob {
            msg_id: request.msg_id.clone(),
            to: request.to.clone(),
            subject,
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        })
    }

    /// This device's job inbox (its durable consumer, created when missing).
    pub async fn job_inbox(&self) -> Result<JobInbox, FleetError> {
        let device = &self.config.device;
        let messages = self
            .durable_messages(
                subjects::JOBS_STREAM,
                subjects::jobs_consumer(device),
                subjects::jobs_for(device),
            )
            .await?;
        Ok(JobInbox { messages })
    }
}

/// A device's stream of incoming jobs.
pub struct JobInbox {
    messages: pull::Stream,
}

/// One delivered job message, not yet acknowledged.
#[derive(Debug)]
pub struct IncomingJob {
    /// The subject it arrived on (its publisher is the sender).
    pub subject: String,
    /// The message; acknowledge it only once the job is durably queued.
    pub message: jetstream::Message,
}

impl std::fmt::Debug for JobInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobInbox")
    }
}

impl JobInbox {
    /// The next message; `None` when the stream ended (connection closed).
    pub async fn next(&mut self) -> Option<Result<IncomingJob, FleetError>> {
        let message = self.messages.next().await?;
        Some(
            message
                .map(|message| IncomingJob {
                    subject: message.subject.to_string(),
                    message,
                })
                .map_err(|e| FleetError::js("receiving a job", e)),
        )
    }
}

impl IncomingJob {
    /// Acknowledges: the job is durably admitted (or refused for good).
    pub async fn ack(&self) -> Result<(), FleetError> {
        self.message
            .ack_with(AckKind::Ack)
            .await
            .map_err(|e| FleetError::js(format!("acknowledging {}", self.subject), e))
    }

    /// Asks for a later redelivery (the job could not be admitted now).
    pub async fn retry_later(&self, delay: Duration) -> Result<(), FleetError> {
        self.message
            .ack_with(AckKind::Nak(Some(delay)))
            .await
            .map_err(|e| FleetError::js(format!("deferring {}", self.subject), e))
    }

    /// How many times the server delivered it (1 the first time).
    pub fn delivered(&self) -> i64 {
        self.message.info().map(|info| info.delivered).unwrap_or(1)
    }
}

/// A job this device may admit, with the mode it runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admit {
    /// The job as sent.
    pub request: JobRequest,
    /// The mode it runs in: the one asked for, never looser than
    /// `fleet.accept_mode`.
    pub mode: ExecutionMode,
}

/// Why a job is refused. Closed; every arm is audited by the receiver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The message does not parse; holds the parser's complaint.
    #[error("unreadable job message: {0}")]
    Malformed(String),
    /// Another protocol version; holds it.
    #[error("protocol version {0} is not {PROTOCOL_VERSION}")]
    Version(u32),
    /// The claimed sender is not the publisher.
    #[error(transparent)]
    Sender(#[from] SenderMismatch),
    /// Addressed to another device; holds that name.
    #[error("addressed to {0:?}, not this device")]
    NotForMe(String),
    /// `fleet.accept` is off.
    #[error("fleet.accept is false: this device takes no fleet jobs")]
    NotAccepting,
    /// The sender is not in `fleet.trusted`; holds its name.
    #[error("device {0:?} is not in fleet.trusted")]
    Untrusted(String),
    /// The mode asked for is not an execution mode; holds it.
    #[error("unknown mode {0:?}")]
    UnknownMode(String),
    /// The mode asked for is looser than `fleet.accept_mode`: refused, not
    /// tightened, so the sender learns why.
    #[error("mode {asked} is looser than fleet.accept_mode ({ceiling})")]
    ModeTooLoose {
        /// The mode asked for.
        asked: ExecutionMode,
        /// `fleet.accept_mode`.
        ceiling: ExecutionMode,
    },
}

impl Refusal {
    /// The audit spelling of the class.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Malformed(_) => "malformed",
            Refusal::Version(_) => "version",
            Refusal::Sender(_) => "sender_mismatch",
            Refusal::NotForMe(_) => "not_for_me",
            Refusal::NotAccepting => "not_accepting",
            Refusal::Untrusted(_) => "untrusted",
            Refusal::UnknownMode(_) => "unknown_mode",
            Refusal::ModeTooLoose { .. } => "mode_too_loose",
        }
    }
}

/// Decides whether `config`'s device admits the job in `payload`, published
/// on `subject`. Strictest first: a forged sender is refused before trust is
/// even looked at, and nothing here can make a mode looser than
/// `fleet.accept_mode`. The request is returned with a refusal when it could
/// be read (so the refusal can be answered and audited with its id).
pub fn judge(
    config: &FleetConfig,
    subject: &str,
    payload: &[u8],
) -> Result<Admit, (Option<Box<JobRequest>>, Refusal)> {
    let request: JobRequest = envelope::decode(subject, payload)
        .map_err(|e| (None, Refusal::Malformed(e.to_string())))?;
    let refuse = |refusal: Refusal| (Some(Box::new(request.clone())), refusal);
    if request.v != PROTOCOL_VERSION {
        return Err(refuse(Refusal::Version(request.v)));
    }
    check_sender(subject, &request.from).map_err(|e| refuse(e.into()))?;
    if request.to != config.device || subjects::job(&request.from, &config.device) != subject {
        return Err(refuse(Refusal::NotForMe(request.to.clone())));
    }
    if !config.accept {
        return Err(refuse(Refusal::NotAccepting));
    }
    if !config.trusted.contains(&request.from) {
        return Err(refuse(Refusal::Untrusted(request.from.clone())));
    }
    let mode = match &request.mode {
        None => config.accept_mode,
        Some(text) => {
            ExecutionMode::parse(text).ok_or_else(|| refuse(Refusal::UnknownMode(text.clone())))?
        }
    };
    // ExecutionMode is ordered from most to least eager to run things.
    if mode < config.accept_mode {
        return Err(refuse(Refusal::ModeTooLoose {
            asked: mode,
            ceiling: config.accept_mode,
        }));
    }
    Ok(Admit { request, mode })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn config() -> FleetConfig {
        FleetConfig {
            device: "phone".into(),
            urls: vec!["nats://127.0.0.1:4222".into()],
            credentials: "/x".into(),
            tls: Default::default(),
            trusted: vec!["laptop".into()],
            accept: true,
            accept_mode: ExecutionMode::Prompt,
            heartbeat_s: 60,
            offer_models: vec![],
            infer_timeout_s: 60,
            serve_max_tokens: 1024,
            serve_queue: 2,
        }
    }

    fn request(from: &str, to: &str, mode: Option<&str>) -> Vec<u8> {
        serde_json::to_vec(&JobRequest {
            v: PROTOCOL_VERSION,
            from: from.into(),
            to: to.into(),
            msg_id: "m1".into(),
            prompt: "list files".into(),
            mode: mode.map(Into::into),
            sent_at: "2026-01-01T00:00:00Z".into(),
            payload: None,
        })
        .unwrap()
    }

    #[rstest]
    #[case::trusted_default_mode(
        "leash.laptop.job.phone",
        "laptop",
        "phone",
        None,
        Ok(ExecutionMode::Prompt)
    )]
    #[case::trusted_stricter_mode(
        "leash.laptop.job.phone",
        "laptop",
        "phone",
        Some("dry-run"),
        Ok(ExecutionMode::DryRun)
    )]
    #[case::looser_mode_than_ceiling(
        "leash.laptop.job.phone",
        "laptop",
        "phone",
        Some("auto-approve"),
        Err("mode_too_loose")
    )]
    #[case::unknown_mode(
        "leash.laptop.job.phone",
        "laptop",
        "phone",
        Some("yolo"),
        Err("unknown_mode")
    )]
    #[case::untrusted_sender(
        "leash.stranger.job.phone",
        "stranger",
        "phone",
        None,
        Err("untrusted")
    )]
    #[case::claims_a_trusted_sender_it_is_not(
        "leash.stranger.job.phone",
        "laptop",
        "phone",
        None,
        Err("sender_mismatch")
    )]
    #[case::addressed_elsewhere(
        "leash.laptop.job.phone",
        "laptop",
        "server",
        None,
        Err("not_for_me")
    )]
    fn fleet_jobs_are_judged_strictest_first(
        #[case] subject: &str,
        #[case] from: &str,
        #[case] to: &str,
        #[case] mode: Option<&str>,
        #[case] expected: Result<ExecutionMode, &str>,
    ) {
        let got = judge(&config(), subject, &request(from, to, mode))
            .map(|admit| admit.mode)
            .map_err(|(_, refusal)| refusal.code());
        assert_eq!(got, expected);
    }

    #[test]
    fn a_device_that_accepts_nothing_refuses_even_trusted_senders() {
        let mut c = config();
        c.accept = false;
        let got = judge(
            &c,
            "leash.laptop.job.phone",
            &request("laptop", "phone", None),
        );
        assert_eq!(got.unwrap_err().1, Refusal::NotAccepting);
        let got = judge(&config(), "leash.laptop.job.phone", b"{not json");
        assert_eq!(got.unwrap_err().1.code(), "malformed");
    }
}
