//! Why a model's answer could not be read as actions, in words the model can
//! act on (the message goes back to it in a re-ask).

use crate::action::PlanError;

/// What is wrong with an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Refused before any work: bounded effort on hostile or runaway output.
    #[error("the answer is {bytes} bytes long; the limit is {limit} bytes")]
    TooLarge { bytes: usize, limit: usize },
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
        line: usize,
        column: usize,
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
    ActionOutsidePlan { key: String },
    /// More than one different plan object.
    #[error("the answer holds {count} different JSON action objects; give exactly one")]
    SeveralPlans { count: usize },
    /// A fenced shell block with more command lines than a plan may hold actions.
    #[error("the shell block has {count} commands; propose at most {limit} per answer")]
    TooManyShellLines { count: usize, limit: usize },
    /// No JSON object with `actions` and `done`, and no fenced shell block.
    #[error("no JSON object with \"actions\" and \"done\" was found")]
    NoPlan,
}
