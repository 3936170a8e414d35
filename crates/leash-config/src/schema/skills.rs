//! `skills:` (typed workflows for the seed's use cases), `models:` (named
//! models, any backend) and `step_models:` (which named model each kind of
//! step uses).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::reader::{PathRule, Reader};
use crate::yaml_tree::{Node, Value};

use super::model::ModelConfig;

/// `skills:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SkillsConfig {
    /// A directory of the user's own skills (`*.yaml`). `None`: none.
    pub dir: Option<PathBuf>,
    /// Skills (built-in or not) that are never used.
    pub disabled: Vec<String>,
    /// Whether `leash ask` and API jobs go through the routing step (which
    /// skill, or the open agent loop). Default true.
    pub route: bool,
}

impl Default for SkillsConfig {
    fn default() -> Self {
        SkillsConfig {
            dir: None,
            disabled: Vec::new(),
            route: true,
        }
    }
}

impl SkillsConfig {
    /// This section's keys: its struct's fields (see `schema::keys`).
    pub(crate) fn keys() -> &'static [&'static str] {
        super::keys::struct_keys::<Self>()
    }

    pub(crate) fn read(r: &mut Reader<'_>, node: &Node, key: &str) -> Self {
        let mut s = SkillsConfig::default();
        let f = r.fields(node, key, Self::keys());
        r.optional(&f, "dir", &mut s.dir, |r, n, k| {
            r.path(n, k, PathRule::RelativeToConfig)
        });
        r.field(&f, "disabled", &mut s.disabled, |r, n, k| {
            r.list(n, k, Reader::nonempty_string)
        });
        r.field(&f, "route", &mut s.route, Reader::boolean);
        s
    }
}

/// `step_models:` the named model (a key of `models:`) each kind of step
/// uses; `None`: the `model:` section. A named model that fails falls back
/// to its own fallbacks, then to `model:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StepModels {
    /// The routing step (which skill, or the open loop): a small model does.
    pub route: Option<String>,
    /// A skill's question. A skill's own `model:` and a trigger's `model:`
    /// come first.
    pub skill: Option<String>,
    /// Open planning (the agent loop).
    pub plan: Option<String>,
}

impl StepModels {
    /// This section's keys: its struct's fields (see `schema::keys`).
    pub(crate) fn keys() -> &'static [&'static str] {
        super::keys::struct_keys::<Self>()
    }

    pub(crate) fn read(r: &mut Reader<'_>, node: &Node, key: &str) -> Self {
        let mut s = StepModels::default();
        let f = r.fields(node, key, Self::keys());
        r.optional(&f, "route", &mut s.route, Reader::nonempty_string);
        r.optional(&f, "skill", &mut s.skill, Reader::nonempty_string);
        r.optional(&f, "plan", &mut s.plan, Reader::nonempty_string);
        s
    }

    /// Every name used, with its key, for the check against `models:`.
    pub(crate) fn named(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("route", self.route.as_deref()),
            ("skill", self.skill.as_deref()),
            ("plan", self.plan.as_deref()),
        ]
        .into_iter()
        .filter_map(|(key, name)| name.map(|name| (key, name)))
    }
}

/// `models:` name → a model section (the keys of `model:`).
pub(crate) fn read_models(
    r: &mut Reader<'_>,
    node: &Node,
    key: &str,
) -> BTreeMap<String, ModelConfig> {
    let mut models = BTreeMap::new();
    match &node.value {
        Value::Map(entries) => {
            for entry in entries {
                let child = format!("{key}.{}", entry.key);
                if entry.key.is_empty()
                    || !entry
                        .key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    r.error(
                        &entry.key_origin,
                        &child,
                        "a model name uses letters, digits, - and _",
                    );
                    continue;
                }
                models.insert(
                    entry.key.clone(),
                    ModelConfig::read(r, &entry.value, &child),
                );
            }
        }
        Value::Scalar(_) if node.is_null() => {}
        Value::Scalar(_) | Value::Seq(_) => r.error(
            &node.origin,
            key,
            format!(
                "expected a mapping of model names, found {}",
                node.describe()
            ),
        ),
    }
    models
}
