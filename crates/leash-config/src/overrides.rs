//! The layers above the file: `LEASH_*` environment variables, then `--set`
//! flags. Each override replaces one key of the YAML tree before the tree is
//! validated, so overrides go through exactly the same checks as the file, and
//! their errors name the variable or the flag instead of a line.
//!
//! Environment mapping: `LEASH_<SECTION>__<KEY>[__<SUBKEY>...]`, a double
//! underscore between levels, case-insensitive (`LEASH_SECURITY__EXECUTION_MODE`
//! → `security.execution_mode`, `LEASH_SECURITY__LIMITS__TIMEOUT_S` →
//! `security.limits.timeout_s`). `LEASH_CONFIG` is the config file's path, not an
//! override; other `LEASH_*` names without `__` are ignored unless they start
//! with a section name, which is an error (a likely single-underscore typo).
//!
//! Values: a YAML scalar typed by the core schema (`true`, `60`, `0.7`,
//! anything else is text; an empty value is null, i.e. "unset"), or, when the
//! value starts with `[`, `{`, `"` or `'`, a YAML flow value
//! (`--set 'security.whitelist=[ls, cat]'`).

use std::rc::Rc;

use crate::env::EnvVars;
use crate::schema::sections;
use crate::yaml_tree::{
    Entry, Node, Origin, Scalar, TreeProblem, Value, parse_override, resolve_plain,
};

/// One key set by a layer above the file.
#[derive(Debug, Clone)]
pub(crate) struct Override {
    /// The variable or flag, as the user wrote it; used as the error source.
    pub(crate) label: Rc<str>,
    /// Key path segments (`["security", "execution_mode"]`).
    pub(crate) path: Vec<String>,
    /// The value as written.
    pub(crate) value: String,
}

/// An override that could not even be understood (bad name, bad value syntax).
pub(crate) type OverrideProblem = TreeProblem;

/// The `LEASH_*` overrides in `env`, sorted by variable name.
pub(crate) fn from_env(env: &EnvVars) -> (Vec<Override>, Vec<OverrideProblem>) {
    let mut overrides = Vec::new();
    let mut problems = Vec::new();
    for (name, value) in env.iter() {
        let Some(rest) = name.strip_prefix("LEASH_") else {
            continue;
        };
        let label: Rc<str> = Rc::from(name);
        let lower = rest.to_ascii_lowercase();
        if lower.contains("__") {
            let path: Vec<String> = lower.split("__").map(str::to_string).collect();
            if path.iter().any(|s| !valid_segment(s)) {
                problems.push(problem(
                    &label,
                    &path.join("."),
                    "expected LEASH_SECTION__KEY with letters, digits and '_' between the '__'",
                ));
                continue;
            }
            overrides.push(Override {
                label,
                path,
                value: value.to_string(),
            });
        } else if let Some(section) = sections()
            .iter()
            .find(|s| lower.starts_with(&format!("{s}_")))
        {
            let key = &lower[section.len() + 1..];
            problems.push(problem(
                &label,
                &format!("{section}.{key}"),
                format!(
                    "not an override: separate levels with a double underscore, e.g. LEASH_{}__{}",
                    section.to_ascii_uppercase(),
                    key.to_ascii_uppercase()
                ),
            ));
        }
    }
    (overrides, problems)
}

/// The `--set KEY=VALUE` flags, in command-line order.
pub(crate) fn from_flags(flags: &[String]) -> (Vec<Override>, Vec<OverrideProblem>) {
    let mut overrides = Vec::new();
    let mut problems = Vec::new();
    for flag in flags {
        let label: Rc<str> = Rc::from(format!("--set {flag}"));
        let Some((key, value)) = flag.split_once('=') else {
            problems.push(problem(
                &label,
                "",
                "expected KEY=VALUE, e.g. security.execution_mode=dry-run",
            ));
            continue;
        };
        let path: Vec<String> = key.trim().split('.').map(str::to_string).collect();
        if path.iter().any(|s| !valid_segment(s)) {
            problems.push(problem(
                &label,
                key,
                "expected a dotted key such as security.limits.timeout_s",
            ));
            continue;
        }
        overrides.push(Override {
            label,
            path,
            value: value.to_string(),
        });
    }
    (overrides, problems)
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn problem(label: &Rc<str>, key: &str, message: impl Into<String>) -> OverrideProblem {
    TreeProblem {
        key: key.to_string(),
        origin: Origin::Override {
            label: Rc::clone(label),
        },
        message: message.into(),
    }
}

/// Put the override's value into the tree, creating mappings on the way.
pub(crate) fn apply(root: &mut Node, ov: &Override) -> Result<(), OverrideProblem> {
    let origin = Origin::Override {
        label: Rc::clone(&ov.label),
    };
    let value = parse_value(&ov.value, &ov.label).map_err(|mut p| {
        if p.key.is_empty() {
            p.key = ov.path.join(".");
        }
        p
    })?;
    let mut current = root;
    for (depth, segment) in ov.path.iter().enumerate() {
        if current.is_null() {
            *current = Node {
                value: Value::Map(Vec::new()),
                origin: origin.clone(),
            };
        }
        let Value::Map(entries) = &mut current.value else {
            let parent = ov.path[..depth].join(".");
            return Err(problem(
                &ov.label,
                &ov.path.join("."),
                format!("cannot set it: {parent} is not a mapping"),
            ));
        };
        let index = match entries.iter().position(|e| e.key == *segment) {
            Some(i) => i,
            None => {
                entries.push(Entry {
                    key: segment.clone(),
                    key_origin: origin.clone(),
                    value: Node::null(origin.clone()),
                });
                entries.len() - 1
            }
        };
        current = &mut entries[index].value;
    }
    *current = value;
    Ok(())
}

fn parse_value(text: &str, label: &Rc<str>) -> Result<Node, OverrideProblem> {
    let trimmed = text.trim();
    if trimmed.starts_with(['[', '{', '"', '\'']) {
        let doc = parse_override(trimmed, Rc::clone(label))?;
        if let Some(first) = doc.problems.into_iter().next() {
            return Err(first);
        }
        return Ok(doc.root);
    }
    Ok(Node {
        value: Value::Scalar(Scalar {
            text: trimmed.to_string(),
            kind: resolve_plain(trimmed),
        }),
        origin: Origin::Override {
            label: Rc::clone(label),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_map_to_key_paths_and_leash_config_is_not_an_override() {
        let env = EnvVars::from_pairs([
            ("LEASH_CONFIG", "/etc/leash.yaml"),
            ("LEASH_SECURITY__LIMITS__TIMEOUT_S", "30"),
            ("LEASH_MODEL__BACKEND", "openai"),
            ("LEASH_TOKEN", "unrelated"),
            ("HOME", "/home/u"),
        ]);
        let (overrides, problems) = from_env(&env);
        assert!(problems.is_empty(), "{problems:?}");
        let paths: Vec<String> = overrides.iter().map(|o| o.path.join(".")).collect();
        assert_eq!(paths, vec!["model.backend", "security.limits.timeout_s"]);
    }

    #[test]
    fn apply_creates_mappings_and_refuses_to_descend_into_scalars() {
        let mut root = Node::null(Origin::File { line: 1, column: 1 });
        let (flags, problems) = from_flags(&["a.b.c=1".to_string(), "a.b.c.d=2".to_string()]);
        assert!(problems.is_empty());
        apply(&mut root, &flags[0]).unwrap();
        let err = apply(&mut root, &flags[1]).unwrap_err();
        assert_eq!(err.key, "a.b.c.d");
        assert!(
            err.message.contains("a.b.c is not a mapping"),
            "{}",
            err.message
        );
    }
}
