//! Asking a person before a command runs.
//!
//! An [`ApprovalRequest`] describes exactly what would run and why it needs a
//! person; an [`Approver`] is one channel that can answer it (the terminal
//! here; the API, the CLI and phone notifications come with the daemon). A
//! channel that cannot reach anyone answers [`ApprovalOutcome::Unavailable`],
//! never "yes": the engine then denies.

mod binding;
mod reason;
mod request;
mod tty;
pub mod visible;

pub use binding::{ApprovalBinding, BoundFile};
pub use reason::{
    MAX_REASON_CHARS, REFUSAL_REASONS, RefusalReasonError, reason_line, refusal_reason,
};
pub use request::{
    ApprovalAnswer, ApprovalOutcome, ApprovalRequest, Approver, GrantScopeKind, GrantTerms,
    NoApprover,
};
pub use tty::TtyApprover;
