//! Rule conditions, compiled against a program's spec, and their evaluation on
//! one parsed command.

use serde::{Deserialize, Serialize};

use super::lazy_regex::LazyRegex;

use crate::options::{Level, OptId, OptName, ParsedArgs};
use crate::spec::ProgramSpec;

/// An option a condition refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum OptKey {
    Known(Level, OptId),
    Short(char),
    Long(String),
}

impl OptKey {
    pub fn matches(&self, level: Level, name: OptName<'_>) -> bool {
        match (self, name) {
            (OptKey::Known(l, id), OptName::Known(other)) => *l == level && *id == other,
            (OptKey::Short(c), OptName::Short(other)) => *c == other,
            (OptKey::Long(s), OptName::Long(other)) => s == other,
            (OptKey::Known(..) | OptKey::Short(_) | OptKey::Long(_), _) => false,
        }
    }

    pub fn present(&self, parsed: &ParsedArgs<'_>) -> bool {
        parsed.options.iter().any(|o| self.matches(o.level, o.name))
    }
}

/// Everything a condition may look at.
#[derive(Debug)]
pub(crate) struct CommandView<'v, 'a> {
    pub argv: &'v [&'a str],
    pub parsed: &'v ParsedArgs<'a>,
    pub spec: &'v ProgramSpec,
    /// Finding of the script analyzer, if the script is unsafe.
    pub script_finding: Option<&'v str>,
    pub script_file: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Condition {
    /// Subcommand indices (or words, for programs without a table entry).
    pub subcommands: Vec<String>,
    pub options: Vec<OptKey>,
    pub global_options: Vec<OptKey>,
    pub not_options: Vec<OptKey>,
    pub words: Vec<String>,
    pub word_regex: Option<LazyRegex>,
    pub operand_regex: Option<LazyRegex>,
    pub option_values: Option<(Vec<OptKey>, LazyRegex)>,
    pub operands_min: Option<usize>,
    pub operands_max: Option<usize>,
    pub script_unsafe: Option<bool>,
    pub script_file: Option<bool>,
    pub argv: Option<Vec<String>>,
}

impl Condition {
    pub fn holds(&self, view: &CommandView<'_, '_>) -> bool {
        let parsed = view.parsed;
        if let Some(argv) = &self.argv
            && (argv.len() != view.argv.len() || argv.iter().zip(view.argv).any(|(a, b)| a != b))
        {
            return false;
        }
        if !self.subcommands.is_empty() {
            let Some((word, index)) = parsed.subcommand else {
                return false;
            };
            let canonical = index
                .and_then(|i| view.spec.subcommands.get(usize::from(i)))
                .map(|s| s.name.as_str())
                .unwrap_or(word);
            if !self.subcommands.iter().any(|s| s == canonical) {
                return false;
            }
        }
        if !self.options.is_empty() && !self.options.iter().any(|k| k.present(parsed)) {
            return false;
        }
        if !self.global_options.is_empty() && !self.global_options.iter().any(|k| k.present(parsed))
        {
            return false;
        }
        if self.not_options.iter().any(|k| k.present(parsed)) {
            return false;
        }
        let args = view.argv.get(1..).unwrap_or_default();
        if !self.words.is_empty() && !args.iter().any(|a| self.words.iter().any(|w| w == a)) {
            return false;
        }
        if let Some(re) = &self.word_regex
            && !args.iter().any(|a| re.is_match(a))
        {
            return false;
        }
        if let Some(re) = &self.operand_regex
            && !parsed.operands.iter().any(|a| re.is_match(a))
        {
            return false;
        }
        if let Some((keys, re)) = &self.option_values {
            let hit = parsed.options.iter().any(|o| {
                keys.iter().any(|k| k.matches(o.level, o.name))
                    && o.value.is_some_and(|v| re.is_match(v))
            });
            if !hit {
                return false;
            }
        }
        let operands = parsed.operands.len();
        if self.operands_min.is_some_and(|min| operands < min) {
            return false;
        }
        if self.operands_max.is_some_and(|max| operands > max) {
            return false;
        }
        if let Some(want) = self.script_unsafe
            && view.script_finding.is_some() != want
        {
            return false;
        }
        if let Some(want) = self.script_file
            && view.script_file != want
        {
            return false;
        }
        true
    }
}
