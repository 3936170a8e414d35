//! Remote approvals: a pending request in the store with an id, a per-request
//! nonce and an expiry, answered from the API, the CLI (through the API) or a
//! phone notification's button (`leash approve ID --nonce N`).
//!
//! [`RemoteApprover`] is the daemon's [`Approver`]: it files the request, marks
//! the job `waiting_approval`, runs the notifier, and waits — on a condition
//! variable, not by polling — until a person answers, the request expires
//! (then it is denied, and audited as such), the job is cancelled or the
//! daemon stops. [`DaemonContext::decide_approval`] is the answering side:
//! a compare-and-set in the store, so two channels answering at once cannot
//! both win, and a wrong or stale nonce is refused and audited.

use leash_store::AuditKind;
use std::time::Duration;

use leash_core::approval::{ApprovalAnswer, ApprovalOutcome, ApprovalRequest, Approver};
use leash_store::{Approval, ApprovalState, JobState, NewApproval, StoreError};
use serde_json::json;
use std::sync::Arc;

use crate::context::DaemonContext;
use crate::error::DaemonError;
use crate::events::DaemonEvent;
use crate::metrics::Metrics;
use crate::notifier::notify_person;
use crate::secret::secrets_match;

/// A person's answer through a remote channel. Closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteAnswer {
    /// Run the command as asked.
    Approve,
    /// Do not run it; the job's model is told it was refused.
    Deny,
}

/// Why an answer was not accepted. Closed; the API maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// No approval with this id (404).
    #[error("approval {id} does not exist")]
    NotFound {
        /// The approval asked about.
        id: i64,
    },
    /// The nonce does not belong to this request (403).
    #[error("approval {id}: the nonce does not match this request")]
    WrongNonce {
        /// The approval asked about.
        id: i64,
    },
    /// The request was already answered or expired (409).
    #[error("approval {id} is already {state}")]
    NotPending {
        /// The approval asked about.
        id: i64,
        /// Its state now.
        state: String,
    },
    /// The daemon failed while recording the answer (500).
    #[error(transparent)]
    Daemon(#[from] DaemonError),
}

impl DaemonContext {
    /// Answers approval `id` with `answer`, if `nonce` is the request's nonce.
    /// `channel` is `http`, `cli` or `termux`; `by` says who (for the audit).
    pub fn decide_approval(
        &self,
        id: i64,
        nonce: &str,
        answer: RemoteAnswer,
        channel: &str,
        by: &str,
    ) -> Result<Approval, DecideError> {
        self.decide_approval_with_reason(id, nonce, answer, channel, by, None)
    }

    /// [`DaemonContext::decide_approval`] with the person's reason for a
    /// refusal (already checked with `leash_core::approval::refusal_reason`;
    /// kept only with a denial). The waiting job hands it to the model.
    pub fn decide_approval_with_reason(
        &self,
        id: i64,
        nonce: &str,
        answer: RemoteAnswer,
        channel: &str,
        by: &str,
        reason: Option<&str>,
    ) -> Result<Approval, DecideError> {
        let approval = self
            .with_store(|store| store.approval(id))?
            .ok_or(DecideError::NotFound { id })?;
        if !secrets_match(approval.nonce.expose(), nonce) {
            Metrics::bump(&self.metrics.approvals_refused_nonce);
            self.audit
                .append(
                    approval.job_id,
                    AuditKind::ApprovalNonceRefused,
                    json!({"approval_id": id, "channel": channel, "by": by, "state": approval.state.as_str()}),
                )
                .map_err(DaemonError::from)?;
            return Err(DecideError::WrongNonce { id });
        }
        // Past its expiry a request is a denial, even if the waiting worker
        // has not marked it yet: mark it now and refuse the late answer.
        let expired = approval
            .expires_at
            .parse::<jiff::Timestamp>()
            .map(|at| jiff::Timestamp::now() >= at)
            .unwrap_or(true);
        if expired && approval.state == ApprovalState::Pending {
            let _ = self.with_store(|store| {
                store.decide_approval(id, ApprovalState::Expired, "expiry", "expiry")
            });
            self.approvals_changed.notify();
            return Err(DecideError::NotPending {
                id,
                state: ApprovalState::Expired.as_str().to_owned(),
            });
        }
        let state = match answer {
            RemoteAnswer::Approve => ApprovalState::Approved,
            RemoteAnswer::Deny => ApprovalState::Denied,
        };
        let decided = match self
            .with_store(|store| store.decide_approval_with_reason(id, state, by, channel, reason))
        {
            Ok(decided) => decided,
            Err(DaemonError::Store(StoreError::InvalidTransition { current, .. })) => {
                return Err(DecideError::NotPending { id, state: current });
            }
            Err(err) => return Err(err.into()),
        };
        self.events.publish(DaemonEvent::ApprovalDecided {
            approval_id: id,
            state: decided.state.as_str().to_owned(),
            channel: channel.to_owned(),
        });
        self.approvals_changed.notify();
        Ok(decided)
    }
}

/// A fresh nonce: 16 random bytes, hex.
fn new_nonce() -> Result<String, DaemonError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|err| DaemonError::Io {
        action: "read random bytes for a nonce",
        path: "getrandom".into(),
        source: std::io::Error::other(err.to_string()),
    })?;
    Ok(hex::encode(bytes))
}

/// The daemon's approval channel for one job.
#[derive(Debug, Clone)]
pub struct RemoteApprover {
    /// The daemon, whose store holds the request and whose signal wakes the wait.
    pub ctx: Arc<DaemonContext>,
    /// The job whose commands it asks about.
    pub job_id: i64,
}

impl Approver for RemoteApprover {
    fn ask(&self, request: &ApprovalRequest) -> ApprovalOutcome {
        match self.ask_remote(request) {
            Ok(outcome) => outcome,
            Err(err) => {
                tracing::error!(job = self.job_id, error = %err, "approval could not be filed");
                ApprovalOutcome::Unavailable {
                    why: format!("the approval could not be filed: {err}"),
                }
            }
        }
    }
}

impl RemoteApprover {
    fn ask_remote(&self, request: &ApprovalRequest) -> Result<ApprovalOutcome, DaemonError> {
        let ctx = &self.ctx;
        if ctx.cancel_requested(self.job_id) {
            return Ok(unavailable("the job was cancelled"));
        }
        if ctx.is_stopping() {
            return Ok(unavailable("the daemon is stopping"));
        }
        let expires_at = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::try_from(request.expires_in).unwrap_or_default())
            .unwrap_or_else(|_| jiff::Timestamp::now());
        let new = NewApproval {
            job_id: Some(self.job_id),
            expires_at: expires_at.to_string(),
            nonce: new_nonce()?.into(),
            argv: request.argv.clone(),
            cwd: Some(request.cwd.display().to_string()),
            rule: Some(request.rule.clone()),
            reason: Some(request.reason.clone()),
            suggested_grant: request.suggested_grant.clone(),
            reversibility: request.reversibility.map(|r| r.as_str().to_owned()),
            grant_shape: request.grant_shape.clone(),
        };
        let approval = ctx.with_store(|store| store.insert_approval(&new))?;
        Metrics::bump(&ctx.metrics.approvals_requested);
        ctx.transition(self.job_id, JobState::WaitingApproval, None)?;
        ctx.audit.append(
            Some(self.job_id),
            AuditKind::ApprovalPending,
            json!({"approval_id": approval.id, "expires_at": approval.expires_at}),
        )?;
        ctx.events.publish(DaemonEvent::ApprovalRequested {
            approval_id: approval.id,
            job_id: Some(self.job_id),
            argv: approval.argv.clone(),
            expires_at: approval.expires_at.clone(),
        });
        if let Some(notifier) = &ctx.loaded.config.approvals.notifier {
            let report = notify_person(ctx, notifier, &approval);
            ctx.audit
                .append(Some(self.job_id), AuditKind::ApprovalNotified, report)?;
        }
        let outcome = self.wait(approval.id, expires_at)?;
        ctx.transition(self.job_id, JobState::Running, None)?;
        Ok(outcome)
    }

    /// Waits for the answer, the expiry, a cancel or a stop.
    fn wait(&self, id: i64, expires_at: jiff::Timestamp) -> Result<ApprovalOutcome, DaemonError> {
        let ctx = &self.ctx;
        loop {
            let seen = ctx.approvals_changed.generation();
            let approval = ctx.with_store(|store| store.approval(id))?.ok_or_else(|| {
                DaemonError::Store(StoreError::Corrupt {
                    path: ctx.loaded.paths.database_file(),
                    what: format!("approval {id} vanished while pending"),
                })
            })?;
            match approval.state {
                ApprovalState::Approved => return Ok(answered(&approval, ApprovalAnswer::Yes)),
                ApprovalState::Denied => return Ok(answered(&approval, ApprovalAnswer::No)),
                ApprovalState::Expired => {
                    return Ok(ApprovalOutcome::Expired {
                        channel: approval.channel.unwrap_or_else(|| "expiry".to_owned()),
                    });
                }
                ApprovalState::Pending => {}
            }
            let now = jiff::Timestamp::now();
            let cancelled = ctx.cancel_requested(self.job_id);
            if now >= expires_at || cancelled || ctx.is_stopping() {
                let (by, channel) = if cancelled {
                    ("cancel", "cancel")
                } else if now >= expires_at {
                    ("expiry", "expiry")
                } else {
                    ("shutdown", "shutdown")
                };
                let state = if cancelled {
                    ApprovalState::Denied
                } else {
                    ApprovalState::Expired
                };
                // Compare-and-set: if a person answered in the meantime, loop
                // round and honour their answer.
                match ctx.with_store(|store| store.decide_approval(id, state, by, channel)) {
                    Ok(_) => {
                        ctx.events.publish(DaemonEvent::ApprovalDecided {
                            approval_id: id,
                            state: state.as_str().to_owned(),
                            channel: channel.to_owned(),
                        });
                        continue;
                    }
                    Err(DaemonError::Store(StoreError::InvalidTransition { .. })) => continue,
                    Err(err) => return Err(err),
                }
            }
            let left = expires_at.duration_since(now);
            let left = Duration::from_secs_f64(left.as_secs_f64().clamp(0.0, 3600.0));
            ctx.approvals_changed
                .wait_after(seen, left.min(Duration::from_secs(60)));
        }
    }
}

fn answered(approval: &Approval, answer: ApprovalAnswer) -> ApprovalOutcome {
    ApprovalOutcome::Answered {
        answer,
        channel: approval.channel.clone().unwrap_or_default(),
        by: approval.decided_by.clone().unwrap_or_default(),
        reason: approval.refusal_reason.clone(),
    }
}

fn unavailable(why: &str) -> ApprovalOutcome {
    ApprovalOutcome::Unavailable {
        why: why.to_owned(),
    }
}
