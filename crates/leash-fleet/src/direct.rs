//! Direct request/reply between two devices over plain NATS (not stored):
//! a question is asked again if its answer is lost, so nothing needs
//! JetStream's durability. Both the question and the answer are published
//! under their sender's own `leash.<device>.` prefix
//! ([`crate::subjects::direct`]), so each side checks who really sent what.
//!
//! The answering side computes the reply subject itself from the checked
//! sender ([`reply_subject`]) and never publishes on a subject the question
//! names: a requester could otherwise make it publish anywhere under its own
//! prefix (a job or an offer in its name).

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::connection::Fleet;
use crate::envelope::{PROTOCOL_VERSION, check_sender, decode, encode, now};
use crate::error::FleetError;
use crate::subjects;

/// A question to one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question<T> {
    /// [`PROTOCOL_VERSION`] of the sender; others are refused.
    pub v: u32,
    /// The asking device (checked against the subject's publisher).
    pub from: String,
    /// The device asked.
    pub to: String,
    /// 128 random bits, hex: ties the answer to the question.
    pub request_id: String,
    /// When it was sent (the asker's clock, RFC 3339).
    pub sent_at: String,
    /// The question itself (approvals, audit, …).
    pub body: T,
}

/// Its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer<T> {
    /// [`PROTOCOL_VERSION`] of the answering device.
    pub v: u32,
    /// The answering device (checked against the subject's publisher).
    pub from: String,
    /// The device that asked.
    pub to: String,
    /// The question's `request_id`: an answer to another question is dropped.
    pub request_id: String,
    /// The answer itself.
    pub body: T,
}

/// Where `me` answers `requester` for questions of `kind`.
pub fn reply_subject(me: &str, requester: &str, kind: &str) -> String {
    subjects::direct(me, requester, &format!("{kind}_reply"))
}

/// A question that arrived, with its sender checked against the subject and
/// its addressee against this device.
pub fn read_question<T: DeserializeOwned>(
    me: &str,
    subject: &str,
    payload: &[u8],
) -> Result<Question<T>, String> {
    let question: Question<T> = decode(subject, payload).map_err(|e| e.to_string())?;
    if question.v != PROTOCOL_VERSION {
        return Err(format!("protocol version {}", question.v));
    }
    check_sender(subject, &question.from).map_err(|e| e.to_string())?;
    if question.to != me {
        return Err(format!("addressed to {:?}", question.to));
    }
    Ok(question)
}

impl Fleet {
    /// Asks device `to` a question of `kind` and waits up to `timeout` for
    /// the answer that is really from `to` about this question.
    pub async fn ask<Q: Serialize, A: DeserializeOwned>(
        &self,
        to: &str,
        kind: &str,
        body: Q,
        timeout: Duration,
    ) -> Result<A, FleetError> {
        let me = self.config.device.clone();
        let question = Question {
            v: PROTOCOL_VERSION,
            from: me.clone(),
            to: to.to_owned(),
            request_id: crate::jobs::new_msg_id()?,
            sent_at: now(),
            body,
        };
        let subject = subjects::direct(&me, to, kind);
        let reply = reply_subject(to, &me, kind);
        let payload = encode(&subject, &question)?;
        let mut answers = self
            .client
            .subscribe(reply.clone())
            .await
            .map_err(|e| FleetError::js(format!("subscribing {reply}"), e))?;
        // The reply subject doubles as the reply address, so the server
        // says "no responders" there when no daemon of `to` listens.
        self.client
            .publish_with_reply(subject.clone(), reply.clone(), payload)
            .await
            .map_err(|e| FleetError::js(format!("publishing {subject}"), e))?;
        let wait = async {
            while let Some(message) = answers.next().await {
                if message.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
                    return Err(FleetError::NoAnswer {
                        device: to.to_owned(),
                        detail: "no daemon of it is in the fleet now".to_owned(),
                    });
                }
                match decode::<Answer<A>>(&message.subject, &message.payload) {
                    Ok(answer)
                        if answer.request_id == question.request_id
                            && answer.to == me
                            && check_sender(&message.subject, &answer.from)
                                .is_ok_and(|d| d == to) =>
                    {
                        return Ok(answer.body);
                    }
                    Ok(_) => {}
                    Err(err) => tracing::debug!(%err, "fleet: unreadable answer ignored"),
                }
            }
            Err(FleetError::NoAnswer {
                device: to.to_owned(),
                detail: "the connection closed".to_owned(),
            })
        };
        let answer =
            tokio::time::timeout(timeout, wait)
                .await
                .map_err(|_| FleetError::NoAnswer {
                    device: to.to_owned(),
                    detail: format!("no answer within {timeout:?}"),
                })?;
        let _ = answers.unsubscribe().await;
        answer
    }

    /// Answers `question` (of `kind`) with `body`.
    pub async fn answer<Q, A: Serialize>(
        &self,
        kind: &str,
        question: &Question<Q>,
        body: A,
    ) -> Result<(), FleetError> {
        let me = &self.config.device;
        let subject = reply_subject(me, &question.from, kind);
        let answer = Answer {
            v: PROTOCOL_VERSION,
            from: me.clone(),
            to: question.from.clone(),
            request_id: question.request_id.clone(),
            body,
        };
        let payload = encode(&subject, &answer)?;
        self.client
            .publish(subject.clone(), payload)
            .await
            .map_err(|e| FleetError::js(format!("publishing {subject}"), e))
    }
}
