//! leash's documented exit statuses. Commands that run a child (`leash exec`)
//! exit with the child's own status when it ran; the values here are for what
//! leash itself decided.

use std::process::ExitCode;

/// Everything went as asked.
pub fn success() -> ExitCode {
    ExitCode::SUCCESS
}

/// A check failed (e.g. `audit verify` found tampering) or an internal error.
pub fn failure() -> ExitCode {
    ExitCode::from(1)
}

/// A foreground job's status: success only when it ended `done`.
pub fn for_job_state(state: leash_store::JobState) -> ExitCode {
    use leash_store::JobState;
    match state {
        JobState::Done => success(),
        JobState::Queued
        | JobState::Running
        | JobState::WaitingApproval
        | JobState::Failed
        | JobState::Cancelled
        | JobState::Interrupted => failure(),
    }
}

/// Bad input: invalid config, bad arguments.
pub fn usage() -> ExitCode {
    ExitCode::from(2)
}
