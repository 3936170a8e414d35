//! Reading a model's answer as an [`ActionPlan`] (docs/DESIGN.md "Data flow":
//! strip `<think>…</think>`; JSON actions; fenced blocks; malformed → re-ask).
//!
//! Order of attempts, first success wins:
//! 0. An answer that *starts* with a valid plan object is that plan (what
//!    follows may only be thinking or prose), so `<think>` inside its strings
//!    cannot cut it apart.
//! 1. `<think>` sections (see `think.rs` for which) and a separate
//!    `reasoning` field are set aside as thinking — recorded, never executed.
//! 2. Every top-level JSON object in the rest (prose around it and ```json
//!    fences are fine) that has plan keys is read as a plan. Exactly one
//!    distinct plan must result.
//! 3. Failing that, fenced shell blocks (```sh, ```bash, bare ```): each
//!    command line is returned *unsplit* in [`ParsedResponse::shell_lines`]
//!    for the engine to pass through `Policy::check_shell`.
//! 4. Otherwise a [`ParseError`] that names the problem; [`reask_message`]
//!    turns it into the next prompt.
//!
//! Work is bounded: answers over [`MAX_RESPONSE_BYTES`] are refused unread,
//! and at most a fixed number of `{` are tried.

mod error;
mod fences;
mod json_plan;
mod reask;
mod shell_block;
mod think;

pub use error::ParseError;
pub use reask::{answer_format_reminder, reask_message};

use crate::action::{ActionPlan, MAX_ACTIONS_PER_PLAN};

/// Answers longer than this are refused without being parsed (1 MiB).
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Where the plan came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanSource {
    /// A JSON object in the answer (bare or surrounded by prose).
    Json,
    /// A JSON object inside a Markdown code fence.
    FencedJson,
    /// Fenced shell command lines; see [`ParsedResponse::shell_lines`].
    FencedShell,
}

/// A successfully read answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedResponse {
    /// The plan. For [`PlanSource::FencedShell`] it has no actions and
    /// `done: false`: the commands are in `shell_lines`.
    pub plan: ActionPlan,
    /// Only for [`PlanSource::FencedShell`]: each command line, unsplit, in
    /// order. The engine checks each with `Policy::check_shell` (the only
    /// shell parser that decides) and runs the argv of its verdict as a
    /// `run` action; shell syntax is refused there with a reason.
    pub shell_lines: Vec<String>,
    /// `<think>` text and the backend's separate reasoning, for the audit
    /// record; never executed.
    pub thinking: Option<String>,
    /// How the plan was written (bare JSON, fenced JSON, shell lines), for the audit.
    pub source: PlanSource,
}

/// Reads an answer. `reasoning` is a separate reasoning channel
/// ([`crate::Generation::reasoning`], DeepSeek's `reasoning_content`).
pub fn parse_response(text: &str, reasoning: Option<&str>) -> Result<ParsedResponse, ParseError> {
    if text.len() > MAX_RESPONSE_BYTES {
        return Err(ParseError::TooLarge {
            bytes: text.len(),
            limit: MAX_RESPONSE_BYTES,
        });
    }
    if let Some((plan, end)) = json_plan::leading_plan(text) {
        return leading(plan, &text[end..], reasoning);
    }
    let split = think::split_thinking(text);
    let thinking = collect_thinking(reasoning, &split.thoughts);
    let answer = split.answer.as_str();

    let fences = fences::find_fences(answer);
    let scan = json_plan::scan(answer);
    let plans = distinct(scan.plans);
    if plans.len() > 1 {
        return Err(ParseError::SeveralPlans { count: plans.len() });
    }
    if let Some(found) = plans.into_iter().next() {
        let fenced = fences
            .iter()
            .any(|fence| fence.start <= found.start && found.start < fence.end);
        return Ok(ParsedResponse {
            plan: found.plan,
            shell_lines: Vec::new(),
            thinking,
            source: if fenced {
                PlanSource::FencedJson
            } else {
                PlanSource::Json
            },
        });
    }
    if let Some(error) = scan.first_error {
        return Err(error);
    }
    let shell_lines: Vec<String> = fences
        .iter()
        .filter(|fence| shell_block::is_shell_fence(fence))
        .flat_map(|fence| shell_block::command_lines(fence.content))
        .collect();
    if shell_lines.len() > MAX_ACTIONS_PER_PLAN {
        return Err(ParseError::TooManyShellLines {
            count: shell_lines.len(),
            limit: MAX_ACTIONS_PER_PLAN,
        });
    }
    if !shell_lines.is_empty() {
        return Ok(ParsedResponse {
            plan: ActionPlan {
                thought: None,
                actions: Vec::new(),
                done: false,
            },
            shell_lines,
            thinking,
            source: PlanSource::FencedShell,
        });
    }
    if split.unterminated {
        return Err(ParseError::UnterminatedThink);
    }
    if answer.trim().is_empty() {
        return Err(if thinking.is_some() {
            ParseError::OnlyThinking
        } else {
            ParseError::Empty
        });
    }
    Err(ParseError::NoPlan)
}

/// The separate reasoning and the think sections, for the audit record.
fn collect_thinking(reasoning: Option<&str>, thoughts: &[String]) -> Option<String> {
    let parts: Vec<&str> = reasoning
        .map(str::trim)
        .filter(|reasoning| !reasoning.is_empty())
        .into_iter()
        .chain(thoughts.iter().map(String::as_str))
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

/// The same plan twice (say, in a fence and again bare) is one plan.
fn distinct(found: Vec<json_plan::FoundPlan>) -> Vec<json_plan::FoundPlan> {
    let mut plans: Vec<json_plan::FoundPlan> = Vec::new();
    for candidate in found {
        if !plans.iter().any(|kept| kept.plan == candidate.plan) {
            plans.push(candidate);
        }
    }
    plans
}

/// The answer starts with a plan; what follows may hold thinking, prose, or
/// (an error) a different plan.
fn leading(
    plan: ActionPlan,
    rest: &str,
    reasoning: Option<&str>,
) -> Result<ParsedResponse, ParseError> {
    let split = think::split_thinking(rest);
    let others = distinct(json_plan::scan(&split.answer).plans);
    let different = others.iter().filter(|found| found.plan != plan).count();
    if different > 0 {
        return Err(ParseError::SeveralPlans {
            count: 1 + different,
        });
    }
    Ok(ParsedResponse {
        plan,
        shell_lines: Vec::new(),
        thinking: collect_thinking(reasoning, &split.thoughts),
        source: PlanSource::Json,
    })
}
