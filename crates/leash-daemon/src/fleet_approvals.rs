//! Approvals follow the person (issue 13 item 4), the owning side: devices
//! in `fleet.trusted` may list this device's pending approval requests and
//! answer them. The answer goes through [`DaemonContext::decide_approval`]
//! like any other channel (nonce, expiry, first answer wins), as channel
//! `fleet`, by `fleet:<device>:<who>`; a question from anyone else is refused
//! and audited.

use leash_fleet::approvals::{ApprovalAnswer, ApprovalQuestion, KIND, PendingApproval};
use leash_fleet::direct::Question;
use leash_store::ApprovalState;
use leash_store::AuditKind;
use serde_json::json;

use crate::approvals::{DecideError, RemoteAnswer};
use crate::context::DaemonContext;
use crate::fleet_questions::Topic;

/// The approval questions' topic.
pub(crate) struct Approvals;

impl Topic for Approvals {
    type Question = ApprovalQuestion;
    type Answer = ApprovalAnswer;
    const KIND: &'static str = KIND;
    const REFUSED: AuditKind = AuditKind::FleetApprovalRefused;

    fn refused(code: &str, reason: String) -> ApprovalAnswer {
        ApprovalAnswer::Refused {
            code: code.to_owned(),
            reason,
        }
    }

    fn answer(ctx: &DaemonContext, question: &Question<ApprovalQuestion>) -> ApprovalAnswer {
        answer(ctx, question)
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
                    if let Err(err) =
                        ctx.audit
                            .append(decided.job_id, AuditKind::FleetApprovalAnswered, record)
                    {
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
