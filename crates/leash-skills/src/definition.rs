//! A skill as written in YAML: what leash gathers itself, the question the
//! model answers (under a grammar derived from the skill), and, through its
//! kind, the actions leash derives from the answer.
//!
//! The kinds are closed: each is a shape of answer and a way to act on it.
//! Users write new skills of these kinds (their own folders, logs, commands,
//! questions) in `skills.dir`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::SkillError;

/// What a skill's answer looks like and what leash does with it. Closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// For each file of `{source}`: one of the target folders, or `leave`.
    /// Leash moves every file the model placed.
    Sort,
    /// A verdict from `verdicts` and a short review. Leash tells the person,
    /// and writes the review to a file the request names.
    Review,
    /// A status from `verdicts` (e.g. ok/alert) and a one-line reason. Leash
    /// tells the person; on anything but the first verdict it writes the
    /// alert file the request names; a status file is always written.
    Status,
    /// A decision from `verdicts` (e.g. go/hold) and a one-line reason. On
    /// the first verdict leash carries out the steps (the skill's `steps`,
    /// commands in backticks and "copy X to Y" in the request).
    Decide,
}

impl Kind {
    /// The spelling in skill files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Sort => "sort",
            Kind::Review => "review",
            Kind::Status => "status",
            Kind::Decide => "decide",
        }
    }
}

/// A skill.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skill {
    /// Letters, digits, `-`, `_`; what triggers name (`skill: organize`).
    pub name: String,
    /// The shape of its answer and what leash does with it.
    pub kind: Kind,
    /// One line: what it is for (shown to the routing step).
    pub description: String,
    /// Requests it handles, for the routing step.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Words (or word starts: `deploy` covers `deploying`) of which a request
    /// must say one for the routing step to offer this skill; empty: offered
    /// whenever its inputs resolve. A small routing model picks any skill it
    /// is offered, so a chore ("rename a.txt to b.txt") must not be offered
    /// the deploy skill only because it names a source and a target.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The question the model answers.
    pub question: String,
    /// The fixed set of verdicts (not for `sort`). For `status` and `decide`
    /// the first one is the all-clear / go answer.
    #[serde(default)]
    pub verdicts: Vec<String>,
    /// Defaults for `{name}` placeholders when the request names none.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// Commands leash runs itself, in order, through the policy; their output
    /// is shown to the model (as untrusted data) and to the person.
    #[serde(default)]
    pub context: Vec<ContextStep>,
    /// `decide`: commands (argv) carried out on the go verdict.
    #[serde(default)]
    pub steps: Vec<Vec<String>>,
    /// The verdict when the skill has rules (`verdict_if`) and none fired.
    #[serde(default)]
    pub default_verdict: Option<String>,
    /// A named model (`models:` in the config) for this skill's question.
    #[serde(default)]
    pub model: Option<String>,
}

/// One command of a skill's context.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextStep {
    /// How the output is labelled for the model; may use placeholders.
    pub label: String,
    /// The argv; `{name}` placeholders are filled from the inputs. A step
    /// with a placeholder that has no value is skipped.
    pub run: Vec<String>,
    /// At most this many characters of its output reach the model.
    #[serde(default)]
    pub max_chars: Option<usize>,
    /// A request to save this output itself ("save the diff to x.diff")
    /// gets it written whole to the file it names, instead of the skill's
    /// own answer (a review).
    #[serde(default)]
    pub saves_as_is: bool,
    /// Run once per value (e.g. each file the request names) instead of once.
    #[serde(default)]
    pub each: Option<Each>,
    /// A typed reading of this step's output that settles the verdict.
    #[serde(default)]
    pub verdict_if: Option<VerdictRule>,
}

/// When a context step's output settles the verdict: a number in it above
/// a bound, or a regular expression that matches. Rules narrow the grammar
/// to their verdict, so a small model cannot answer "ok" to a log full of
/// errors; the model still writes the reason.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictRule {
    /// The output's first number is above this.
    #[serde(default)]
    pub above: Option<f64>,
    /// The output matches this regular expression.
    #[serde(default)]
    pub matches: Option<String>,
    /// The verdict it settles (one of the skill's verdicts).
    pub verdict: String,
    /// What leash tells the person when it fires.
    pub says: String,
}

/// What a context step is repeated over. Closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Each {
    /// Every existing file the request names, as `{file}`.
    MentionedFiles,
}

/// Characters a context step's output may give the model unless it says.
pub const DEFAULT_CONTEXT_CHARS: usize = 1200;

/// A verdict: a short lowercase word (it becomes a grammar literal).
fn valid_word(word: &str) -> bool {
    !word.is_empty()
        && word.len() <= 24
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Parses and checks one skill file.
pub fn parse(origin: &str, text: &str) -> Result<Skill, SkillError> {
    let skill: Skill = serde_saphyr::from_str(text).map_err(|err| SkillError::Definition {
        origin: origin.to_owned(),
        message: err.to_string(),
    })?;
    validate(origin, &skill)?;
    Ok(skill)
}

fn validate(origin: &str, skill: &Skill) -> Result<(), SkillError> {
    let bad = |message: String| SkillError::Definition {
        origin: origin.to_owned(),
        message,
    };
    if skill.name.is_empty()
        || !skill
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(bad(format!(
            "name {:?}: use letters, digits, - and _",
            skill.name
        )));
    }
    match skill.kind {
        Kind::Sort => {
            if !skill.verdicts.is_empty() {
                return Err(bad(
                    "verdicts: a sort skill answers with folders, not verdicts".into(),
                ));
            }
        }
        Kind::Review | Kind::Status | Kind::Decide => {
            if skill.verdicts.len() < 2 {
                return Err(bad(format!(
                    "verdicts: a {} skill needs at least two",
                    skill.kind.as_str()
                )));
            }
            for verdict in &skill.verdicts {
                if !valid_word(verdict) {
                    return Err(bad(format!(
                        "verdicts: {verdict:?} must be a short lowercase word"
                    )));
                }
            }
            let mut seen = std::collections::BTreeSet::new();
            if !skill.verdicts.iter().all(|v| seen.insert(v)) {
                return Err(bad("verdicts: each verdict once".into()));
            }
        }
    }
    if !skill.steps.is_empty() && skill.kind != Kind::Decide {
        return Err(bad("steps: only a decide skill has steps".into()));
    }
    for (n, step) in skill.context.iter().enumerate() {
        if step.run.is_empty() || step.run[0].contains('{') {
            return Err(bad(format!(
                "context[{n}].run: needs a program name first (not a placeholder)"
            )));
        }
        if let Some(rule) = &step.verdict_if {
            if !skill.verdicts.contains(&rule.verdict) {
                return Err(bad(format!(
                    "context[{n}].verdict_if.verdict: {:?} is not one of the verdicts",
                    rule.verdict
                )));
            }
            match (&rule.above, &rule.matches) {
                (Some(_), None) => {}
                (None, Some(pattern)) => {
                    regex::Regex::new(pattern)
                        .map_err(|err| bad(format!("context[{n}].verdict_if.matches: {err}")))?;
                }
                _ => {
                    return Err(bad(format!(
                        "context[{n}].verdict_if: give exactly one of above, matches"
                    )));
                }
            }
        }
    }
    if let Some(default) = &skill.default_verdict
        && !skill.verdicts.contains(default)
    {
        return Err(bad(format!(
            "default_verdict: {default:?} is not one of the verdicts"
        )));
    }
    for (n, step) in skill.steps.iter().enumerate() {
        if step.is_empty() || step[0].contains('{') {
            return Err(bad(format!(
                "steps[{n}]: needs a program name first (not a placeholder)"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::sort_with_verdicts(
        "{name: a, kind: sort, description: d, question: q, verdicts: [x, y]}",
        "verdicts"
    )]
    #[case::one_verdict(
        "{name: a, kind: status, description: d, question: q, verdicts: [ok]}",
        "two"
    )]
    #[case::verdict_not_a_word(
        "{name: a, kind: status, description: d, question: q, verdicts: [ok, \"a\\\" | x\"]}",
        "lowercase"
    )]
    #[case::placeholder_as_program(
        "{name: a, kind: sort, description: d, question: q, context: [{label: l, run: [\"{x}\"]}]}",
        "program"
    )]
    #[case::steps_outside_decide(
        "{name: a, kind: review, description: d, question: q, verdicts: [a, b], steps: [[make]]}",
        "steps"
    )]
    #[case::unknown_kind("{name: a, kind: dance, description: d, question: q}", "dance")]
    #[case::bad_name("{name: 'a b', kind: sort, description: d, question: q}", "name")]
    fn a_malformed_skill_is_refused_naming_the_problem(#[case] yaml: &str, #[case] says: &str) {
        let err = parse("test.yaml", yaml).unwrap_err().to_string();
        assert!(err.contains(says), "{err}");
        assert!(err.contains("test.yaml"), "{err}");
    }
}
