//! A skill's context, gathered by leash itself: each context command runs
//! through the same policy → mode gate → approval → sandbox → audit path as
//! any action, and its (capped) output is what the model and the person see.

use std::collections::BTreeMap;
use std::path::Path;

use leash_core::{CommandRequest, CommandRunner, CommandStatus};

use crate::definition::{ContextStep, DEFAULT_CONTEXT_CHARS, Each, VerdictRule};
use crate::error::SkillError;
use crate::inputs::Inputs;

/// One piece of gathered context.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Gathered {
    /// The step's label, placeholders filled (what the model sees above it).
    pub label: String,
    /// The command as run (or as refused).
    pub argv: Vec<String>,
    /// The output (capped), or why the command did not run.
    pub text: String,
    /// Whether the command ran and exited 0.
    pub ok: bool,
    /// The verdict its rule settled, and what leash says about it.
    pub settles: Option<(String, String)>,
    /// The whole output (not capped) of a step that `saves_as_is`.
    #[serde(skip)]
    pub whole: Option<String>,
}

/// Fills `{name}` placeholders; `None` when one has no value.
pub fn fill(template: &str, values: &BTreeMap<String, String>) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        out.push_str(values.get(&after[..close])?);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Runs every context step whose placeholders have values, in order.
pub fn gather(
    runner: &CommandRunner<'_>,
    steps: &[ContextStep],
    inputs: &Inputs,
    workspace: &Path,
    job_id: Option<i64>,
) -> Result<Vec<Gathered>, SkillError> {
    let mut gathered = Vec::new();
    for step in steps {
        let rounds: Vec<BTreeMap<String, String>> = match step.each {
            None => vec![inputs.values.clone()],
            Some(Each::MentionedFiles) => inputs
                .files
                .iter()
                .map(|file| {
                    let mut values = inputs.values.clone();
                    values.insert("file".to_owned(), file.clone());
                    values
                })
                .collect(),
        };
        for values in rounds {
            let argv: Option<Vec<String>> = step.run.iter().map(|a| fill(a, &values)).collect();
            let (Some(argv), Some(label)) = (argv, fill(&step.label, &values)) else {
                tracing::debug!(label = %step.label, "context step skipped: an input has no value");
                continue;
            };
            let report = runner.run(&CommandRequest {
                argv: argv.clone(),
                cwd: workspace.to_path_buf(),
                job_id,
            })?;
            let (text, ok) = match &report.status {
                CommandStatus::Ran(outcome) => {
                    let mut text = outcome.stdout.render_text();
                    if text.trim().is_empty() {
                        text = outcome.stderr.render_text();
                    }
                    (text, outcome.status == leash_sandbox::ExitKind::Exited(0))
                }
                CommandStatus::NotRun { reason, .. } => (
                    format!("(not run: {reason:?}: {})", report.verdict.reason),
                    false,
                ),
                CommandStatus::Failed { .. } => (
                    format!("(not run: SandboxFailed: {})", report.verdict.reason),
                    false,
                ),
                CommandStatus::Performed => ("(not run)".to_owned(), false),
            };
            let settles = step
                .verdict_if
                .as_ref()
                .filter(|rule| report.outcome().is_some() && fires(rule, &text))
                .map(|rule| {
                    (
                        rule.verdict.clone(),
                        fill(&rule.says, &values).unwrap_or_else(|| rule.says.clone()),
                    )
                });
            gathered.push(Gathered {
                label,
                argv,
                text: cap(&text, step.max_chars.unwrap_or(DEFAULT_CONTEXT_CHARS)),
                ok,
                settles,
                whole: (step.saves_as_is && ok).then_some(text),
            });
        }
    }
    Ok(gathered)
}

/// Whether `rule` fires on a step's (whole) output.
fn fires(rule: &VerdictRule, text: &str) -> bool {
    if let Some(bound) = rule.above {
        return text
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .find(|word| !word.is_empty() && word.chars().any(|c| c.is_ascii_digit()))
            .and_then(|word| word.parse::<f64>().ok())
            .is_some_and(|number| number > bound);
    }
    rule.matches
        .as_deref()
        .and_then(|pattern| regex::Regex::new(pattern).ok())
        .is_some_and(|regex| regex.is_match(text))
}

/// At most `chars` characters, saying when some were cut.
fn cap(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}\n[… cut at {chars} characters]", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_from_values_and_a_missing_one_skips() {
        let values = BTreeMap::from([("log".to_owned(), "logs/app.log".to_owned())]);
        assert_eq!(
            fill("last lines of {log}", &values).as_deref(),
            Some("last lines of logs/app.log")
        );
        assert_eq!(fill("{commit}", &values), None);
        assert_eq!(fill("plain", &values).as_deref(), Some("plain"));
    }

    #[test]
    fn cap_cuts_on_a_character_boundary() {
        assert_eq!(cap("héllo", 2), "hé\n[… cut at 2 characters]");
        assert_eq!(cap("hi", 5), "hi");
    }
}
