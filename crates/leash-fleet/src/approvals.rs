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
        id: i64,
        nonce: String,
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
    pub id: i64,
    pub job_id: Option<i64>,
    pub argv: Vec<String>,
    pub cwd: Option<String>,
    pub rule: Option<String>,
    pub reason: Option<String>,
    pub expires_at: String,
    pub nonce: String,
}

/// The owning device's answer. Closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ApprovalAnswer {
    Pending {
        approvals: Vec<PendingApproval>,
    },
    Decided {
        id: i64,
        state: String,
    },
    /// Not done: `untrusted`, `not_found`, `wrong_nonce`, `not_pending`,
    /// `failed`.
    Refused {
        code: String,
        reason: String,
    },
}
