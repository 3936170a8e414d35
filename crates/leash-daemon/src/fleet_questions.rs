//! Answering direct questions from other devices (approvals, audit pages):
//! each question's sender is checked against its subject, then against
//! `fleet.trusted`; anything else is refused and audited as
//! `fleet.<topic>.refused`, and a trusted sender's question goes to the
//! topic's handler.

use std::sync::Arc;

use futures_util::StreamExt;
use leash_fleet::Fleet;
use leash_fleet::direct::{Question, read_question};
use leash_fleet::subjects;
use leash_store::AuditKind;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::context::DaemonContext;

/// One topic of questions.
pub(crate) trait Topic: Send + Sync + 'static {
    type Question: DeserializeOwned + Send;
    type Answer: Serialize + Send;
    /// The direct-message kind.
    const KIND: &'static str;
    /// The audit kind of refusals (`fleet.approval.refused`).
    const REFUSED: AuditKind;
    fn refused(code: &str, reason: String) -> Self::Answer;
    fn answer(ctx: &DaemonContext, question: &Question<Self::Question>) -> Self::Answer;
}

/// Answers questions of topic `T` until the task is aborted.
pub(crate) async fn serve<T: Topic>(ctx: Arc<DaemonContext>, fleet: Fleet) {
    let me = fleet.config.device.clone();
    let mut questions = match fleet
        .client
        .subscribe(subjects::directs_for(&me, T::KIND))
        .await
    {
        Ok(questions) => questions,
        Err(err) => {
            tracing::error!(%err, kind = T::KIND, "fleet: cannot listen for questions");
            return;
        }
    };
    while let Some(message) = questions.next().await {
        let question: Question<T::Question> =
            match read_question(&me, &message.subject, &message.payload) {
                Ok(question) => question,
                Err(reason) => {
                    // A forged or misrouted question gets no answer.
                    refused::<T>(&ctx, &message.subject, "malformed", &reason);
                    continue;
                }
            };
        let answer = if fleet.config.trusted.iter().any(|t| t == &question.from) {
            T::answer(&ctx, &question)
        } else {
            let reason = format!("{:?} is not in fleet.trusted", question.from);
            refused::<T>(&ctx, &message.subject, "untrusted", &reason);
            T::refused("untrusted", reason)
        };
        if let Err(err) = fleet.answer(T::KIND, &question, answer).await {
            tracing::warn!(%err, kind = T::KIND, "fleet: answer not sent");
        }
    }
}

fn refused<T: Topic>(ctx: &DaemonContext, subject: &str, code: &str, reason: &str) {
    let record = json!({
        "subject": subject,
        "publisher": subjects::publisher(subject),
        "code": code,
        "reason": reason,
    });
    if let Err(err) = ctx.audit.append(None, T::REFUSED, record) {
        tracing::error!(%err, "fleet: audit append failed");
    }
}
