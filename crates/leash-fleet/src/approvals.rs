//! Approvals follow the person: a device's pending approval requests can be
//! listed and answered from any other device it trusts (`leash approvals
//! --on DEVICE`, `leash approve --on DEVICE ID`). The device that owns the
//! job decides: it checks the asker against `fleet.trusted`, then answers
//! through its own compare-and-set with the request's nonce and expiry, so
//! the first answer wins whichever channel or device it came from.

use serde::{Deserialize, Serialize};

use crate::error::FleetError;

/// The direct-message kind of approval questions.
pub const KIND: &str = "approvals";

/// A question about the owning device's approvals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ApprovalQuestion {
    /// The pending requests.
    List,
    /// Answer request `id`. The nonce comes from the listing (the asker is
    /// trusted) or from a notification's button.
    Decide {
        /// The request's id on the owning device.
        id: i64,
        /// The request's nonce: an answer without the right one is refused.
        nonce: String,
        /// Yes (run it) or no.
        approve: bool,
        /// Who answered on the asking device (`cli:<user>`).
        by: String,
        /// A refusal's reason for the model.
        reason: Option<String>,
    },
}

/// One pending request as another device sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingApproval {
    /// Its id on the owning device (what `leash approve --on DEVICE ID` takes).
    pub id: i64,
    /// The job that asks, on the owning device.
    pub job_id: Option<i64>,
    /// The exact command the person approves.
    pub argv: Vec<String>,
    /// Where it would run.
    pub cwd: Option<String>,
    /// The policy rule that asked for approval.
    pub rule: Option<String>,
    /// The rule's reason, for the person.
    pub reason: Option<String>,
    /// When it becomes a denial (RFC 3339, the owning device's clock).
    pub expires_at: String,
    /// The nonce an answer must carry. Only trusted devices get a listing.
    pub nonce: String,
}

/// The owning device's answer. Closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ApprovalAnswer {
    /// The pending requests (answer to [`ApprovalQuestion::List`]).
    Pending {
        /// Oldest first.
        approvals: Vec<PendingApproval>,
    },
    /// The answer was recorded.
    Decided {
        /// The request answered.
        id: i64,
        /// Its state now, as the approvals table spells it.
        state: String,
    },
    /// Not done: `untrusted`, `not_found`, `wrong_nonce`, `not_pending`,
    /// `failed`.
    Refused {
        /// The closed code above.
        code: String,
        /// What went wrong, for the person.
        reason: String,
    },
}

/// An answer to give on another device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The request's id on the owning device.
    pub id: i64,
    /// `None`: asked of the owner first (it lists pending requests with
    /// their nonce to trusted devices only).
    pub nonce: Option<String>,
    /// Yes (run it) or no.
    pub approve: bool,
    /// Who answered on this device (`cli:<user>`, `http:…`).
    pub by: String,
    /// A refusal's reason, passed on to the owner's model.
    pub reason: Option<String>,
}

/// How long this device waits for the owner's answer.
pub const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl crate::Fleet {
    /// Device `owner`'s pending requests, with their nonces (refused unless
    /// `owner` trusts this device).
    pub async fn pending_on(&self, owner: &str) -> Result<Vec<PendingApproval>, FleetError> {
        match self
            .ask(owner, KIND, ApprovalQuestion::List, ANSWER_TIMEOUT)
            .await?
        {
            ApprovalAnswer::Pending { approvals } => Ok(approvals),
            ApprovalAnswer::Refused { code, reason } => Err(FleetError::Refused {
                device: owner.to_owned(),
                code,
                reason,
            }),
            ApprovalAnswer::Decided { .. } => Err(FleetError::Refused {
                device: owner.to_owned(),
                code: "protocol".to_owned(),
                reason: "answered a question it was not asked".to_owned(),
            }),
        }
    }

    /// Answers request `decision.id` on device `owner`, fetching its nonce
    /// first when not given. The owner decides (first answer wins there);
    /// its refusal comes back as [`ApprovalAnswer::Refused`].
    pub async fn decide_on(
        &self,
        owner: &str,
        decision: Decision,
    ) -> Result<ApprovalAnswer, FleetError> {
        let nonce = match decision.nonce {
            Some(nonce) => nonce,
            None => match self
                .pending_on(owner)
                .await?
                .into_iter()
                .find(|a| a.id == decision.id)
            {
                Some(approval) => approval.nonce,
                None => {
                    return Ok(ApprovalAnswer::Refused {
                        code: "not_pending".to_owned(),
                        reason: format!("{owner} has no pending approval request {}", decision.id),
                    });
                }
            },
        };
        let question = ApprovalQuestion::Decide {
            id: decision.id,
            nonce,
            approve: decision.approve,
            by: decision.by,
            reason: decision.reason,
        };
        self.ask(owner, KIND, question, ANSWER_TIMEOUT).await
    }
}
