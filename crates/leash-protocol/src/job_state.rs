//! Where a job is in its life: the states of the durable queue and the closed
//! table of moves between them.

use serde::{Deserialize, Serialize};

/// Where a job is in its life. Ordered as a job moves through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Durable, waiting for a worker.
    Queued,
    /// A worker has it.
    Running,
    /// A worker has it and is waiting for a person to answer an approval.
    WaitingApproval,
    /// Finished; `result` says how.
    Done,
    /// Gave up; `result` says why.
    Failed,
    /// Cancelled by a person.
    Cancelled,
    /// The daemon died while the job ran. Re-queued (back to `Queued`) at most
    /// the configured number of times; otherwise it stays here, ended.
    Interrupted,
}

impl JobState {
    /// Every state, in order.
    pub const ALL: [JobState; 7] = [
        JobState::Queued,
        JobState::Running,
        JobState::WaitingApproval,
        JobState::Done,
        JobState::Failed,
        JobState::Cancelled,
        JobState::Interrupted,
    ];

    /// The spelling stored in the database and shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::WaitingApproval => "waiting_approval",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Interrupted => "interrupted",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> Option<JobState> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
    }

    /// Whether the job will never change state again.
    pub fn is_final(self) -> bool {
        match self {
            JobState::Queued
            | JobState::Running
            | JobState::WaitingApproval
            | JobState::Interrupted => false,
            JobState::Done | JobState::Failed | JobState::Cancelled => true,
        }
    }

    /// Whether a worker holds the job (it is being worked on right now).
    pub fn is_active(self) -> bool {
        match self {
            JobState::Running | JobState::WaitingApproval => true,
            JobState::Queued
            | JobState::Interrupted
            | JobState::Done
            | JobState::Failed
            | JobState::Cancelled => false,
        }
    }

    /// The closed transition table. Everything not listed is refused.
    pub fn can_become(self, next: JobState) -> bool {
        use JobState::{Cancelled, Done, Failed, Interrupted, Queued, Running, WaitingApproval};
        match self {
            Queued => matches!(next, Running | Cancelled | Failed),
            Running => matches!(
                next,
                WaitingApproval | Done | Failed | Cancelled | Interrupted
            ),
            WaitingApproval => matches!(next, Running | Done | Failed | Cancelled | Interrupted),
            // Re-queued after a crash, or given up on by a person.
            Interrupted => matches!(next, Queued | Cancelled | Failed),
            Done | Failed | Cancelled => false,
        }
    }
}
