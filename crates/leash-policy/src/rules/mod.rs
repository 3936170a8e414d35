//! The rules: built-in argument knowledge (YAML, precompiled to JSON by
//! `build.rs` and embedded in the binary), extra documents from config and the
//! learned-rules file, compiled once at load. The extra documents' examples are
//! verified at load; the built-in ones' by the tests (`rules/tests.rs`).

mod compile;
pub(crate) mod condition;
mod examples;
pub(crate) mod format;
mod lazy_regex;
pub(crate) mod table;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::Decision;
use crate::options::ParsedArgs;
use crate::scripts;
use crate::spec::{Knowledge, ProgramSpec};
use condition::{CommandView, Condition};

pub(crate) use compile::build;
#[cfg(test)]
mod tests;

/// The built-in rules documents, in load order, as compact JSON that
/// `build.rs` made from the YAML files next to this one (JSON parses many
/// times faster, and every CLI call loads the policy).
macro_rules! builtin {
    ($name:literal) => {
        (
            concat!("builtin:", $name, ".yaml"),
            include_str!(concat!(env!("OUT_DIR"), "/", $name, ".json")),
        )
    };
}

pub(crate) const BUILTIN_SOURCES: &[(&str, &str)] = &[
    builtin!("programs_core"),
    builtin!("programs_text"),
    builtin!("programs_files"),
    builtin!("programs_git"),
    builtin!("programs_dev"),
    builtin!("programs_system"),
    (
        "builtin:rules.yaml",
        include_str!(concat!(env!("OUT_DIR"), "/builtin.json")),
    ),
];

/// The same documents as written, for the tests that check the JSON reads the
/// same and that every built-in example holds.
#[cfg(test)]
pub(crate) const BUILTIN_YAML: &[(&str, &str)] = &[
    (
        "builtin:programs_core.yaml",
        include_str!("programs_core.yaml"),
    ),
    (
        "builtin:programs_text.yaml",
        include_str!("programs_text.yaml"),
    ),
    (
        "builtin:programs_files.yaml",
        include_str!("programs_files.yaml"),
    ),
    (
        "builtin:programs_git.yaml",
        include_str!("programs_git.yaml"),
    ),
    (
        "builtin:programs_dev.yaml",
        include_str!("programs_dev.yaml"),
    ),
    (
        "builtin:programs_system.yaml",
        include_str!("programs_system.yaml"),
    ),
    ("builtin:rules.yaml", include_str!("builtin.yaml")),
];

/// What a rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum RuleDecision {
    Fixed(Decision),
    /// Reaches the network: deny while `security.network` is off, else ask.
    Network,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Rule {
    pub id: String,
    pub source: String,
    /// Built-in, configured or learned: from the document it was read from.
    pub origin: crate::VerdictOrigin,
    pub decision: RuleDecision,
    pub reason: String,
    pub hint: String,
    /// Per program (spec index) the compiled condition.
    pub conditions: Vec<(usize, Condition)>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RuleSet {
    pub knowledge: Knowledge,
    pub rules: Vec<Rule>,
    /// spec index → (rule index, condition index) in load order (derived
    /// from `rules`, so not stored in the precompiled table).
    #[serde(skip)]
    by_spec: HashMap<usize, Vec<(usize, usize)>>,
}

impl RuleSet {
    /// No programs, no rules.
    pub(crate) fn empty() -> RuleSet {
        RuleSet {
            knowledge: Knowledge::new(),
            rules: Vec::new(),
            by_spec: HashMap::new(),
        }
    }

    /// Rebuilds the per-program index of the rules.
    pub(crate) fn index(&mut self) {
        let mut by_spec: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
        for (r, rule) in self.rules.iter().enumerate() {
            for (c, (spec, _)) in rule.conditions.iter().enumerate() {
                by_spec.entry(*spec).or_default().push((r, c));
            }
        }
        self.by_spec = by_spec;
    }

    /// Rules (with their condition for this program) that apply to a spec.
    pub fn for_spec(&self, spec: usize) -> impl Iterator<Item = (&Rule, &Condition)> {
        self.by_spec
            .get(&spec)
            .into_iter()
            .flatten()
            .filter_map(|(r, c)| {
                let rule = self.rules.get(*r)?;
                let (_, cond) = rule.conditions.get(*c)?;
                Some((rule, cond))
            })
    }
}

/// Facts about a command's script shared by every rule that looks at it.
#[derive(Debug, Default)]
pub(crate) struct ScriptFacts {
    pub finding: Option<String>,
    pub file: bool,
}

pub(crate) fn script_facts(spec: &ProgramSpec, parsed: &ParsedArgs<'_>) -> ScriptFacts {
    let Some(script) = &spec.script else {
        return ScriptFacts::default();
    };
    let (texts, file) = spec.scripts(parsed);
    let finding = script
        .analyzer
        .and_then(|a| texts.iter().find_map(|t| scripts::analyze(a, t)));
    ScriptFacts { finding, file }
}

pub(crate) fn view<'v, 'a>(
    argv: &'v [&'a str],
    parsed: &'v ParsedArgs<'a>,
    spec: &'v ProgramSpec,
    facts: &'v ScriptFacts,
) -> CommandView<'v, 'a> {
    CommandView {
        argv,
        parsed,
        spec,
        script_finding: facts.finding.as_deref(),
        script_file: facts.file,
    }
}
