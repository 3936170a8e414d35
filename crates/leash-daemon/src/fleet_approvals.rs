//! Approvals follow the person (issue 13 item 4), the owning side: devices
//! in `fleet.trusted` may list this device's pending approval requests and
//! answer them. The answer goes through [`DaemonContext::decide_approval`]
//! like any other channel (nonce, expiry, first answer wins), as channel
//! `fleet`, by `fleet:<device>:<who>`; a question from anyone else is refused
//! and audited.

use std::sync::Arc;

use futures_util::StreamExt;
use leash_fleet::Fleet;
use leash_fleet::approvals::{ApprovalAnswer, ApprovalQuestion, KIND, PendingApproval};
use leash_fleet::direct::{Question, read_question};
use leash_fleet::subjects;
use leash_store::ApprovalState;
use serde_json::json;

use crate::approvals::{DecideError, RemoteAnswer};
use crate::context::DaemonContext;

/// Answers approval questions until the task is aborted.
pub(crate) async fn serve(ctx: Arc<DaemonContext>, fleet: Fleet) {
    let me = fleet.config.device.clone();
    let mut questions = match fleet.client.subscribe(subjects::directs_for(&me, KIND)).await {
        Ok(questions) => questions,
        Err(err) => {
            tracing::error!(%err, "fleet: cannot listen for approval questions");
            return;
        }
    };
    while let Some(message) = questions.next().await {
        let question: Question<ApprovalQuestion> =
            match read_question(&me, &message.subject, &message.payload) {
                Ok(question) => question,
                Err(reason) => {
                    refused(&ctx, &message.subject, "malformed", &reason);
                    continue;
                }
            };
        let answer = if fleet.config.trusted.iter().any(|t| t == &question.from) {
            answer(&ctx, &question)
        } else {
            let reason = format!("{:?} is not in fleet.trusted", question.from);
            refused(&ctx, &message.subject, "untrusted", &reason);
            ApprovalAnswer::Refused {
                code: "untrusted".to_owned(),
                reason,
            }
        };
        if let Err(err) = fleet.answer(KIND, &question, answer).await {
            tracing::warn!(%err, "fleet: approval answer not sent");
        }
    }
}

fn refused(ctx: &DaemonContext, subject: &str, code: &str, reason: &str) {
    let record = json!({
        "subject": subject,
        "publisher": subjects::publisher(subject),
        "code": code,
        "reason": reason,
    });
    if let Err(err) = ctx.audit.append(None, "fleet.approval.refused", record) {
        tracing::error!(%err, "fleet: audit append failed");
    }
}

fn answer(ctx: &DaemonContext, question: &Question<ApprovalQuestion>) -> ApprovalAnswer {
    let failed = |reason: String| ApprovalAnswer::Refused {
        code: "failed".to_owned(),
        reason,
    };
    match &question.body {
        ApprovalQuestion::List => {
            match ctx.with_store(|store| store.approvals(Some(ApprovalState::Pending))) {
                Ok(approvals) => ApprovalAnswer::Pending {
                    approvals: approvals
                        .into_iter()
                        .map(|a| PendingApproval {
                            id: a.id,
                            job_id: a.job_id,
                            argv: a.argv,
                            cwd: a.cwd,
                            rule: a.rule,
                            reason: a.reason,
                            expires_at: a.expires_at,
                            nonce: a.nonce.expose().to_owned(),
                        })
                        .collect(),
                },
                Err(err) => failed(err.to_string()),
            }
        }
        ApprovalQuestion::Decide {
            id,
            nonce,
            approve,
            by,
            reason,
        } => {
            let decision = if *approve {
                RemoteAnswer::Approve
            } else {
                RemoteAnswer::Deny
            };
            let by = format!("fleet:{}:{by}", question.from);
            let reason = reason.as_deref().filter(|_| !*approve);
            match ctx.decide_approval_with_reason(*id, nonce, decision, "fleet", &by, reason) {
                Ok(decided) => {
                    let record = json!({
                        "approval_id": id,
                        "device": question.from,
                        "by": by,
                        "state": decided.state.as_str(),
                    });
                    if let Err(err) = ctx.audit.append(decided.job_id, "fleet.approval.answered", record) {
                        tracing::error!(%err, "fleet: audit append failed");
                    }
                    ApprovalAnswer::Decided {
                        id: *id,
                        state: decided.state.as_str().to_owned(),
                    }
                }
                Err(err) => {
                    let code = match &err {
                        DecideError::NotFound { .. } => "not_found",
                        DecideError::WrongNonce { .. } => "wrong_nonce",
                        DecideError::NotPending { .. } => "not_pending",
                        DecideError::Daemon(_) => "failed",
                    };
                    ApprovalAnswer::Refused {
                        code: code.to_owned(),
                        reason: err.to_string(),
                    }
                }
            }
        }
    }
}
