//! leash-protocol: the words every leash crate shares, at the bottom of the
//! workspace (it depends on no other leash crate). What one crate writes and
//! another reads back — a job's state, its mode, an audit record's kind and
//! payload — is spelled here once, as a closed type, instead of as a string
//! each side spells for itself.
//!
//! - [`AuditKind`]: every kind of audit record, with its stored spelling.
//! - [`audit`]: the typed payloads of the records leash reads back
//!   (recovery, the repeat guard, the web page, the usefulness suite).
//! - [`ExecutionMode`]: what happens to a decided action.
//! - [`JobState`], [`ApprovalState`]: where a job / an approval request is.
//! - [`TriggerSource`]: what kind of thing fired a job.
//! - [`ChatRole`]: who said a chat message.
//! - [`JobPayload`]: the trigger data a job carries to the model.
//! - [`Decision`], [`VerdictOrigin`]: what the policy said and where the
//!   deciding rule came from; [`GateOutcome`]: what the mode let happen;
//!   [`ApprovalAnswer`]: what a person answered.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod approval_answer;
mod approval_state;
pub mod audit;
mod audit_kind;
mod chat_role;
mod decision;
mod execution_mode;
mod gate_outcome;
mod job_payload;
mod job_state;
mod trigger_source;

pub use approval_answer::{ApprovalAnswer, GrantScopeKind, GrantTerms};
pub use approval_state::ApprovalState;
pub use audit_kind::{AuditKind, UnknownAuditKind};
pub use chat_role::ChatRole;
pub use decision::{Decision, VerdictOrigin};
pub use execution_mode::ExecutionMode;
pub use gate_outcome::GateOutcome;
pub use job_payload::JobPayload;
pub use job_state::JobState;
pub use trigger_source::TriggerSource;
