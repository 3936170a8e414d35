//! Approvals follow the person: a device's pending approval requests can be
//! listed and answered from any other device it trusts (`leash approvals
//! --on DEVICE`, `leash approve --on DEVICE ID`). The device that owns the
//! job decides: it checks the asker against `fleet.trusted`, then answers
//! through its own compare-and-set with the request's nonce and expiry, so
//! the first answer wins whichever channel or device it came from.

use serde::{Deserialize, Serialize};

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
