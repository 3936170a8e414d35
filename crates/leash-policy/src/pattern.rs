//! Seed list entries (`"rm -rf"`, `"git push"`, `"docker"`) as argv patterns,
//! matched semantically: the pattern is read through the same program
//! knowledge as commands, so `rm -rf` matches `rm -r -f`, `rm -fr`, `rm -Rf`,
//! `rm --recursive --force`, `rm --rec --force`, `rm build -rf` and
//! `/bin/rm -rf`, but not `rm -- -rf`; `git push` matches `git -C x push`.

use std::path::Path;

use crate::options::{OptName, ParsedArgs};
use crate::paths::lexical_absolute;
use crate::rules::condition::OptKey;
use crate::shell;
use crate::spec::{Knowledge, looks_like_path, normalize_name};

#[derive(Debug, Clone)]
pub(crate) struct ArgvPattern {
    pub text: String,
    /// The program name as written (variant/version suffix removed).
    program: String,
    /// The program's knowledge entry, shared by aliases (`gawk`, `mawk`, `awk`).
    spec: Option<usize>,
    subcommand: Option<String>,
    options: Vec<(OptKey, Option<String>)>,
    operands: Vec<String>,
    expression: Vec<String>,
}

fn normalize_operand(word: &str) -> String {
    if word.starts_with('/') {
        lexical_absolute(Path::new(word), Path::new("/"))
            .to_string_lossy()
            .into_owned()
    } else {
        word.to_string()
    }
}

fn owned_key(option: &crate::options::ParsedOption<'_>) -> OptKey {
    match option.name {
        OptName::Known(id) => OptKey::Known(option.level, id),
        OptName::Short(c) => OptKey::Short(c),
        OptName::Long(l) => OptKey::Long(l.to_string()),
    }
}

impl ArgvPattern {
    pub fn compile(text: &str, knowledge: &Knowledge) -> Result<ArgvPattern, String> {
        let argv = shell::parse_command(text)
            .map_err(|e| format!("not a plain argv pattern (found {})", e.found))?;
        let first = argv[0].as_str();
        let base = first.rsplit('/').next().unwrap_or(first);
        if base.is_empty() {
            return Err("the pattern names no program".to_string());
        }
        let index = knowledge.lookup(base);
        let spec = knowledge.spec(index);
        let refs: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
        let parsed = spec.parse(&refs);
        let subcommand = parsed.subcommand.map(|(word, idx)| {
            idx.and_then(|i| spec.subcommands.get(usize::from(i)))
                .map(|s| s.name.clone())
                .unwrap_or_else(|| word.to_string())
        });
        Ok(ArgvPattern {
            text: text.to_string(),
            program: normalize_name(base).to_string(),
            spec: index,
            subcommand,
            options: parsed
                .options
                .iter()
                .map(|o| (owned_key(o), o.value.map(str::to_string)))
                .collect(),
            operands: parsed
                .operands
                .iter()
                .map(|o| normalize_operand(o))
                .collect(),
            expression: parsed.expression.iter().map(|w| (*w).to_string()).collect(),
        })
    }

    /// Whether a command matches. `names` are the names the program goes by
    /// (canonical file name, and the name it was called by when that is the
    /// same program); `family` is its knowledge entry. A `broad` match (for
    /// blacklist and approval lists, where matching more is stricter) also
    /// accepts any name of the same family (`gunzip` for `gzip`).
    pub fn matches(
        &self,
        names: &[&str],
        family: Option<usize>,
        broad: bool,
        parsed: &ParsedArgs<'_>,
        subcommand: Option<&str>,
    ) -> bool {
        let same_family = broad && family.is_some() && self.spec == family;
        if !same_family && !names.contains(&self.program.as_str()) {
            return false;
        }
        if let Some(want) = &self.subcommand
            && subcommand != Some(want.as_str())
        {
            return false;
        }
        let options_hold = self.options.iter().all(|(key, value)| {
            parsed.options.iter().any(|o| {
                key.matches(o.level, o.name) && value.as_deref().is_none_or(|v| o.value == Some(v))
            })
        });
        if !options_hold {
            return false;
        }
        let operands_hold = self.operands.iter().all(|want| {
            parsed.operands.iter().any(|got| {
                if looks_like_path(want) || looks_like_path(got) {
                    normalize_operand(got) == *want
                } else {
                    got == want
                }
            })
        });
        operands_hold
            && self
                .expression
                .iter()
                .all(|w| parsed.expression.iter().any(|e| e == w))
    }
}
