//! Why a model's answer could not be read as actions, in words the model can
//! act on (the message goes back to it in a re-ask).

use crate::action::PlanError;

/// What is wrong with an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Refused before any work: bounded effort on hostile or runaway output.
    #[error("the answer is {bytes} bytes long; the limit is {limit} bytes")]
    TooLarge {
        /// The answer's length.
        bytes: usize,
        /// The most leash reads.
        limit: usize,
    },
    /// Nothing but blanks.
    #[error("the answer is empty")]
    Empty,
    /// Thinking (a `<think>` section or separate reasoning) and no answer.
    #[error("the answer has only thinking and no JSON object after it")]
    OnlyThinking,
    /// `<think>` without `</think>`: everything after it is thinking.
    #[error(
        "the <think> section was never closed with </think>, so no actions followed it; \
         close it and then give the JSON object"
    )]
    UnterminatedThink,
    /// An object that looks like the plan is not valid JSON.
    #[error(
        "the JSON object is not valid JSON: {detail} (line {line}, column {column} of the \
         object, near `{near}`)"
    )]
    InvalidJson {
        /// Line of the error, counted within the object (1-based).
        line: usize,
        /// Column of the error on that line (1-based).
        column: usize,
        /// What the JSON parser said.
        detail: String,
        /// The text around the error.
        near: String,
    },
    /// Valid JSON that is not a valid plan.
    #[error("{0}")]
    InvalidPlan(#[from] PlanError),
    /// `{"run": [...]}` on its own, without the `{"actions": [...], "done": ...}` wrapper.
    #[error(
        "found a \"{key}\" action on its own; put actions in the \"actions\" list of one \
         object with \"done\""
    )]
    ActionOutsidePlan {
        /// The action key found (`run`).
        key: String,
    },
    /// More than one different plan object.
    #[error("the answer holds {count} different JSON action objects; give exactly one")]
    SeveralPlans {
        /// How many different plan objects the answer holds.
        count: usize,
    },
    /// A fenced shell block with more command lines than a plan may hold actions.
    #[error("the shell block has {count} commands; propose at most {limit} per answer")]
    TooManyShellLines {
        /// Command lines in the block.
        count: usize,
        /// The most one answer may propose.
        limit: usize,
    },
    /// No JSON object with `actions` and `done`, and no fenced shell block.
    #[error("no JSON object with \"actions\" and \"done\" was found")]
    NoPlan,
}
