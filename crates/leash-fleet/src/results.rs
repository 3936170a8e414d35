//! A fleet job's end goes back to the device that asked, through the results
//! stream (`Nats-Msg-Id` = `end-<msg_id>`, so re-sending after a crash is
//! stored once), and is pulled there by a durable consumer with explicit acks.

use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::{self, AckKind};
use futures_util::StreamExt;

use crate::connection::Fleet;
use crate::envelope::{self, JobEnd, PROTOCOL_VERSION, check_sender};
use crate::error::FleetError;
use crate::subjects;

impl Fleet {
    /// Sends `end` (its `from` is this device) to `end.to`.
    pub async fn send_result(&self, end: &JobEnd) -> Result<bool, FleetError> {
        subjects::device(&end.to)?;
        let subject = subjects::result(&self.config.device, &end.to);
        let payload = envelope::encode(&subject, end)?;
        let msg_id = format!("end-{}", end.msg_id);
        let ack = self.publish_once(&subject, payload, &msg_id).await?;
        Ok(!ack.duplicate)
    }

    /// This device's result inbox (durable consumer, created when missing).
    pub async fn result_inbox(&self) -> Result<ResultInbox, FleetError> {
        let device = &self.config.device;
        let messages = self
            .durable_messages(
                subjects::RESULTS_STREAM,
                subjects::results_consumer(device),
                subjects::results_for(device),
            )
            .await?;
        Ok(ResultInbox {
            device: device.clone(),
            messages,
        })
    }
}

/// A device's stream of job ends.
pub struct ResultInbox {
    device: String,
    messages: pull::Stream,
}

/// A delivered job end: `end` is `Err` with a reason when it could not be read
/// or its sender is not who published it (such a message is still acked: it
/// will never become readable).
#[derive(Debug)]
pub struct IncomingResult {
    /// The subject it arrived on.
    pub subject: String,
    /// The job end, or why it is not believed.
    pub end: Result<JobEnd, String>,
    message: jetstream::Message,
}

impl std::fmt::Debug for ResultInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResultInbox")
    }
}

impl ResultInbox {
    /// The next job end addressed to this device; `None` when the subscription
    /// ends. A message that fails the checks comes back as an `Err` in `end`, so
    /// the caller can audit and ack it.
    pub async fn next(&mut self) -> Option<Result<IncomingResult, FleetError>> {
        let message = match self.messages.next().await? {
            Ok(message) => message,
            Err(e) => return Some(Err(FleetError::js("receiving a result", e))),
        };
        let subject = message.subject.to_string();
        let end = envelope::decode::<JobEnd>(&subject, &message.payload)
            .map_err(|e| e.to_string())
            .and_then(|end| {
                if end.v != PROTOCOL_VERSION {
                    return Err(format!(
                        "protocol version {} is not {PROTOCOL_VERSION}",
                        end.v
                    ));
                }
                check_sender(&subject, &end.from).map_err(|e| e.to_string())?;
                if end.to != self.device {
                    return Err(format!("addressed to {:?}, not this device", end.to));
                }
                Ok(end)
            });
        Some(Ok(IncomingResult {
            subject,
            end,
            message,
        }))
    }
}

impl IncomingResult {
    /// Acknowledges it, after the caller recorded it: the stream then stops
    /// delivering it.
    pub async fn ack(&self) -> Result<(), FleetError> {
        self.message
            .ack_with(AckKind::Ack)
            .await
            .map_err(|e| FleetError::js(format!("acknowledging {}", self.subject), e))
    }
}
