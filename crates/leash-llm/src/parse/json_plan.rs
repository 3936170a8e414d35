//! Finds the plan object in an answer: every top-level `{` is tried as the
//! start of a JSON value (serde_json stops at the end of the first value, so
//! surrounding prose is fine); objects with plan keys are read as plans.

use serde_json::Value;

use super::error::ParseError;
use crate::action::{ActionKind, ActionPlan, PLAN_KEYS};

/// At most this many `{` are tried: each failed try may scan to the end of
/// the answer, so this bounds the work to a small multiple of its length.
const MAX_CANDIDATES: usize = 128;

/// A plan found at a byte offset of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundPlan {
    pub plan: ActionPlan,
    pub start: usize,
}

/// What the scan found: plans, and the first error of an object that was
/// meant to be a plan (reported when there is no plan).
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub plans: Vec<FoundPlan>,
    pub first_error: Option<ParseError>,
}

fn looks_like_plan(map: &serde_json::Map<String, Value>) -> bool {
    map.contains_key("actions") || map.contains_key("done")
}

/// The text around byte `at`, on char boundaries, for error messages.
fn near(text: &str, at: usize) -> String {
    let mut from = at.saturating_sub(20);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = (at + 20).min(text.len());
    while !text.is_char_boundary(to) {
        to += 1;
    }
    text[from..to].replace('\n', "\\n")
}

/// Byte offset of a 1-based line and column (serde_json counts columns in bytes).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + column.saturating_sub(1)).min(text.len())
}

fn invalid_json(candidate: &str, error: &serde_json::Error) -> ParseError {
    let message = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let detail = message
        .strip_suffix(&suffix)
        .unwrap_or(&message)
        .to_string();
    ParseError::InvalidJson {
        line: error.line(),
        column: error.column(),
        detail,
        near: near(
            candidate,
            offset_of(candidate, error.line(), error.column()),
        ),
    }
}

fn names_plan_key_before_error(candidate: &str, error: &serde_json::Error) -> bool {
    let mut end = (offset_of(candidate, error.line(), error.column()) + 16).min(candidate.len());
    while !candidate.is_char_boundary(end) {
        end += 1;
    }
    let window = &candidate[..end];
    PLAN_KEYS
        .iter()
        .any(|key| window.contains(&format!("\"{key}\"")))
}

/// A complete, valid plan object at the very start of the text (blanks
/// aside), and the offset where it ends. Read before any `<think>` handling,
/// so that tags inside its strings cannot cut it apart.
pub(crate) fn leading_plan(text: &str) -> Option<(ActionPlan, usize)> {
    let start = text.len() - text.trim_start().len();
    if !text[start..].starts_with('{') {
        return None;
    }
    let mut values = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
    let value = values.next()?.ok()?;
    let plan = ActionPlan::from_json(&value).ok()?;
    Some((plan, start + values.byte_offset()))
}

pub(crate) fn scan(answer: &str) -> Scan {
    let mut scan = Scan::default();
    let mut position = 0;
    let mut tried = 0;
    while let Some(found) = answer[position..].find('{') {
        if tried == MAX_CANDIDATES {
            break;
        }
        tried += 1;
        let start = position + found;
        let candidate = &answer[start..];
        let mut values = serde_json::Deserializer::from_str(candidate).into_iter::<Value>();
        match values.next() {
            Some(Ok(value)) => {
                position = start + values.byte_offset().max(1);
                classify(value, start, &mut scan);
            }
            Some(Err(error)) => {
                // Only an object that names a plan key before (or right at)
                // the error is an attempt worth reporting; a brace in prose
                // is not.
                if scan.first_error.is_none() && names_plan_key_before_error(candidate, &error) {
                    scan.first_error = Some(invalid_json(candidate, &error));
                }
                position = start + 1;
            }
            None => break,
        }
    }
    scan
}

fn classify(value: Value, start: usize, scan: &mut Scan) {
    let Value::Object(map) = &value else {
        return;
    };
    if looks_like_plan(map) {
        match ActionPlan::from_json(&value) {
            Ok(plan) => scan.plans.push(FoundPlan { plan, start }),
            Err(error) => {
                scan.first_error
                    .get_or_insert(ParseError::InvalidPlan(error));
            }
        }
    } else if let Some(key) = map.keys().find(|key| ActionKind::from_key(key).is_some()) {
        scan.first_error
            .get_or_insert(ParseError::ActionOutsidePlan { key: key.clone() });
    }
}
