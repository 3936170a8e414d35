//! The message that goes back to the model when its answer could not be read.
//! The re-ask *loop* (at most `agent.max_parse_retries`) is the engine's.

use super::error::ParseError;
use crate::action::ActionKind;

/// The reminder of the answer format, shared by re-asks and system prompts.
pub fn answer_format_reminder() -> String {
    let examples = ActionKind::ALL
        .iter()
        .map(|kind| format!("  {}", kind.example()))
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "Answer with exactly one JSON object of the form \
         {{\"thought\": \"...\", \"actions\": [ ... ], \"done\": false}} and nothing else. \
         Each action is an object with exactly one of these forms:\n{examples}\n\
         \"run\" takes the program and its arguments as a list of strings, one command per \
         action, with no shell syntax (no pipes, redirections, ;, && or $(...)). \
         Set \"done\" to true when nothing more needs to be done."
    )
}

/// "Your last answer was not valid: … Answer with exactly one JSON object …"
pub fn reask_message(error: &ParseError) -> String {
    format!(
        "Your last answer was not valid: {error}.\n{}",
        answer_format_reminder()
    )
}
