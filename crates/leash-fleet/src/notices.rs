//! Approvals follow the person, the telling half: when a job on a device asks
//! a person, the device publishes an [`ApprovalNotice`] into the
//! `LEASH_APPROVALS` stream on `leash.<owner>.approval.<id>`; when the request
//! is answered, expires or its job ends, it publishes the closing notice on
//! the same subject. The stream keeps the last notice per subject, so a
//! device that (re)starts reads every request's current state and nothing
//! stale: JetStream is the state, with explicit acks and `Nats-Msg-Id`
//! de-duplication (`<owner>:<id>:<created_at>:<state>`), so a restart of the
//! owner neither loses a notice nor stores one twice.
//!
//! A notice carries what the local approval page shows — argv, cwd, program,
//! undo class, the grant that would cover it, expiry — and **never the
//! nonce**: the stream is readable by every device that may read it, trusted
//! or not. A device that wants to answer asks the owner for the nonce over a
//! direct question ([`crate::approvals::ApprovalQuestion::List`]), which the
//! owner answers only for devices in its `fleet.trusted`; the owner then
//! decides with today's nonce, expiry and compare-and-set checks.

use std::time::Duration;

use async_nats::jetstream::consumer::{self, DeliverPolicy, pull};
use async_nats::jetstream::{self, AckKind};
use futures_util::StreamExt;
use leash_config::FleetConfig;
use serde::{Deserialize, Serialize};

use crate::connection::Fleet;
use crate::envelope::{self, PROTOCOL_VERSION, SenderMismatch, check_sender};
use crate::error::FleetError;

/// The stream of approval notices (the last one per request).
pub const APPROVALS_STREAM: &str = "LEASH_APPROVALS";

/// How long a notice is kept: longer than any approval's expiry is allowed
/// to be, so an open request is never dropped by age while it can be
/// answered.
pub const NOTICE_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// `leash.<owner>.approval.<id>`.
pub fn subject(owner: &str, id: i64) -> String {
    format!("leash.{owner}.approval.{id}")
}

/// Every device's notices.
pub const ALL_SUBJECTS: &str = "leash.*.approval.*";

/// Where a request stands. Closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeState {
    /// Waiting for a person.
    Pending,
    /// Answered, expired, or its job ended: nobody should be asked any more.
    Closed,
}

/// One request as the owning device tells the fleet about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalNotice {
    /// [`PROTOCOL_VERSION`].
    pub v: u32,
    /// The owning device (checked against the subject).
    pub from: String,
    /// The request's id on the owning device.
    pub id: i64,
    /// The job asking, on the owning device.
    pub job_id: Option<i64>,
    /// When the owner filed it (part of the message id: ids restart with a
    /// new database).
    pub created_at: String,
    /// Pending, or closed (remove it from every device's list).
    pub state: NoticeState,
    /// How it was closed (`approved`, `denied`, `expired`); `None` while
    /// pending.
    pub outcome: Option<String>,
    /// The exact command to approve.
    pub argv: Vec<String>,
    /// Where it would run.
    pub cwd: Option<String>,
    /// The rule that asked, and why.
    pub rule: Option<String>,
    /// The rule's reason, for the person.
    pub reason: Option<String>,
    /// The undo class (`reversible`, `irreversible`, …).
    pub reversibility: Option<String>,
    /// The grant that would cover it (as the local page suggests it).
    pub suggested_grant: Option<String>,
    /// The grant pattern leash would use for this shape of command (offered
    /// with the request, as on the local page).
    pub grant_shape: Option<String>,
    /// When it becomes a denial (RFC 3339, the owner's clock).
    pub expires_at: String,
    /// When this notice was published (the owner's clock, RFC 3339).
    pub sent_at: String,
}

impl ApprovalNotice {
    /// The de-duplication id: one stored message per request and state.
    pub fn msg_id(&self) -> String {
        let state = match self.state {
            NoticeState::Pending => "pending",
            NoticeState::Closed => "closed",
        };
        format!("{}:{}:{}:{state}", self.from, self.id, self.created_at)
    }

    /// Whether the request's expiry has passed (an unreadable expiry counts
    /// as passed: a request nobody can date is not offered to anyone).
    pub fn expired(&self, now: jiff::Timestamp) -> bool {
        self.expires_at
            .parse::<jiff::Timestamp>()
            .map(|at| now >= at)
            .unwrap_or(true)
    }
}

/// Why a received notice is not shown. Closed; the receiver audits
/// `Untrusted` and `Sender` (they are someone's attempt), logs the rest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeRefusal {
    /// The message does not parse; holds the parser's complaint.
    #[error("unreadable approval notice: {0}")]
    Malformed(String),
    /// Another protocol version; holds it.
    #[error("protocol version {0} is not {PROTOCOL_VERSION}")]
    Version(u32),
    /// The claimed owner is not the publisher.
    #[error(transparent)]
    Sender(#[from] SenderMismatch),
    /// The subject names another request than the notice; holds the notice's id.
    #[error("the subject does not name request {0} of its publisher")]
    WrongSubject(i64),
    /// The owner is not in `fleet.trusted`; holds its name.
    #[error("device {0:?} is not in fleet.trusted")]
    Untrusted(String),
}

impl NoticeRefusal {
    /// The audit spelling of the class.
    pub fn code(&self) -> &'static str {
        match self {
            NoticeRefusal::Malformed(_) => "malformed",
            NoticeRefusal::Version(_) => "version",
            NoticeRefusal::Sender(_) => "sender_mismatch",
            NoticeRefusal::WrongSubject(_) => "wrong_subject",
            NoticeRefusal::Untrusted(_) => "untrusted",
        }
    }
}

/// What a received notice means for this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeVerdict {
    /// This device's own notice (it is the owner): nothing to show.
    Own,
    /// A trusted device's request: show it (pending) or drop it (closed).
    Show(Box<ApprovalNotice>),
}

/// Judges a notice published on `subject`, strictest first: readable, this
/// protocol, the claimed owner is the publisher and the subject names this
/// very request, then the owner is in `fleet.trusted`.
pub fn judge(
    config: &FleetConfig,
    subject: &str,
    payload: &[u8],
) -> Result<NoticeVerdict, NoticeRefusal> {
    let notice: ApprovalNotice =
        envelope::decode(subject, payload).map_err(|e| NoticeRefusal::Malformed(e.to_string()))?;
    if notice.v != PROTOCOL_VERSION {
        return Err(NoticeRefusal::Version(notice.v));
    }
    let owner = check_sender(subject, &notice.from)?;
    if self::subject(owner, notice.id) != subject {
        return Err(NoticeRefusal::WrongSubject(notice.id));
    }
    if owner == config.device {
        return Ok(NoticeVerdict::Own);
    }
    if !config.trusted.iter().any(|t| t == owner) {
        return Err(NoticeRefusal::Untrusted(owner.to_owned()));
    }
    Ok(NoticeVerdict::Show(Box::new(notice)))
}

/// A notice delivered to this device, acked explicitly once handled.
#[derive(Debug)]
pub struct IncomingNotice {
    /// The subject it arrived on (its publisher is the owner).
    pub subject: String,
    /// The message; ack it once the notice is shown or dropped.
    pub message: jetstream::Message,
}

impl IncomingNotice {
    /// Acknowledges it: the stream stops delivering it to this device.
    pub async fn ack(&self) -> Result<(), FleetError> {
        self.message
            .ack_with(AckKind::Ack)
            .await
            .map_err(|e| FleetError::js(format!("acknowledging {}", self.subject), e))
    }
}

/// The notices, from the current state of every request on.
pub struct NoticeFeed {
    messages: pull::Stream,
}

impl std::fmt::Debug for NoticeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoticeFeed")
    }
}

impl NoticeFeed {
    /// The next notice; `None` when the feed ended (connection closed).
    pub async fn next(&mut self) -> Option<Result<IncomingNotice, FleetError>> {
        let message = self.messages.next().await?;
        Some(
            message
                .map(|message| IncomingNotice {
                    subject: message.subject.to_string(),
                    message,
                })
                .map_err(|e| FleetError::js("receiving an approval notice", e)),
        )
    }
}

impl Fleet {
    /// Publishes `notice` (its `from` must be this device) and waits until
    /// the stream stored it; `Ok(false)`: it was already stored.
    pub async fn publish_notice(&self, notice: &ApprovalNotice) -> Result<bool, FleetError> {
        let subject = subject(&self.config.device, notice.id);
        let payload = envelope::encode(&subject, notice)?;
        let ack = self
            .publish_once(&subject, payload, &notice.msg_id())
            .await?;
        Ok(!ack.duplicate)
    }

    /// Every request's current notice, then each new one. The consumer is
    /// made afresh at each start (delivering the last notice per request),
    /// so a restarted device rebuilds what it shows from the stream, and
    /// is removed by the server once this device stops reading.
    pub async fn notice_feed(&self) -> Result<NoticeFeed, FleetError> {
        let stream = self
            .js
            .get_stream(APPROVALS_STREAM)
            .await
            .map_err(|e| FleetError::js("opening the approvals stream", e))?;
        let consumer = stream
            .create_consumer(consumer::pull::Config {
                deliver_policy: DeliverPolicy::LastPerSubject,
                filter_subject: ALL_SUBJECTS.to_owned(),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: crate::jobs::ACK_WAIT,
                inactive_threshold: Duration::from_secs(60),
                ..Default::default()
            })
            .await
            .map_err(|e| FleetError::js("reading the approvals stream", e))?;
        let messages = consumer
            .messages()
            .await
            .map_err(|e| FleetError::js("reading the approvals stream", e))?;
        Ok(NoticeFeed { messages })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leash_config::ExecutionMode;
    use rstest::rstest;

    fn config() -> FleetConfig {
        FleetConfig {
            device: "b".into(),
            urls: vec!["nats://127.0.0.1:4222".into()],
            credentials: "/x".into(),
            tls: Default::default(),
            trusted: vec!["c".into()],
            accept: true,
            accept_mode: ExecutionMode::Prompt,
            heartbeat_s: 60,
            offer_models: vec![],
            infer_timeout_s: 60,
            serve_max_tokens: 1024,
            serve_queue: 2,
        }
    }

    pub(crate) fn notice(from: &str, id: i64) -> ApprovalNotice {
        ApprovalNotice {
            v: PROTOCOL_VERSION,
            from: from.into(),
            id,
            job_id: Some(1),
            created_at: "2026-01-01T00:00:00Z".into(),
            state: NoticeState::Pending,
            outcome: None,
            argv: vec!["touch".into(), "x".into()],
            cwd: Some("/w".into()),
            rule: Some("require_approval_for".into()),
            reason: None,
            reversibility: Some("reversible".into()),
            suggested_grant: None,
            grant_shape: None,
            expires_at: "2099-01-01T00:00:00Z".into(),
            sent_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[rstest]
    #[case::trusted_owner("leash.c.approval.5", "c", 5, Ok("show"))]
    #[case::own_notice("leash.b.approval.5", "b", 5, Ok("own"))]
    #[case::untrusted_owner("leash.x.approval.5", "x", 5, Err("untrusted"))]
    #[case::claims_a_trusted_owner_it_is_not("leash.x.approval.5", "c", 5, Err("sender_mismatch"))]
    #[case::subject_names_another_request("leash.c.approval.6", "c", 5, Err("wrong_subject"))]
    #[case::not_a_leash_subject("other.c.approval.5", "c", 5, Err("sender_mismatch"))]
    fn approval_notices_are_judged_strictest_first(
        #[case] subject: &str,
        #[case] from: &str,
        #[case] id: i64,
        #[case] expected: Result<&str, &str>,
    ) {
        let payload = serde_json::to_vec(&notice(from, id)).unwrap();
        let got = judge(&config(), subject, &payload)
            .map(|verdict| match verdict {
                NoticeVerdict::Own => "own",
                NoticeVerdict::Show(_) => "show",
            })
            .map_err(|refusal| refusal.code());
        assert_eq!(got, expected);
    }

    #[test]
    fn unreadable_and_other_version_notices_are_refused() {
        let got = judge(&config(), "leash.c.approval.5", b"{not json");
        assert_eq!(got.unwrap_err().code(), "malformed");
        let mut old = notice("c", 5);
        old.v = PROTOCOL_VERSION + 1;
        let got = judge(
            &config(),
            "leash.c.approval.5",
            &serde_json::to_vec(&old).unwrap(),
        );
        assert_eq!(got.unwrap_err().code(), "version");
    }

    #[test]
    fn a_notice_never_carries_a_nonce_and_its_id_names_request_and_state() {
        let mut n = notice("c", 5);
        let wire = serde_json::to_value(&n).unwrap();
        assert!(
            !wire.to_string().contains("nonce"),
            "a notice must not carry a nonce: {wire}"
        );
        assert_eq!(n.msg_id(), "c:5:2026-01-01T00:00:00Z:pending");
        n.state = NoticeState::Closed;
        assert_eq!(n.msg_id(), "c:5:2026-01-01T00:00:00Z:closed");
        let now = jiff::Timestamp::now();
        assert!(!n.expired(now));
        n.expires_at = "2000-01-01T00:00:00Z".into();
        assert!(n.expired(now));
        n.expires_at = "soon".into();
        assert!(n.expired(now), "an undatable request counts as expired");
    }
}
