//! The schema walker's toolkit: read typed values out of the marked YAML tree,
//! recording every problem (with key path and line) instead of stopping at the
//! first. Section modules (`schema/*.rs`) describe their keys with these calls.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::env::EnvVars;
use crate::error::{ConfigError, ConfigWarning};
use crate::expand::{absolutize, expand_path_text};
use crate::suggest::closest;
use crate::yaml_enum::{YamlEnum, parse_variant};
use crate::yaml_tree::{Node, Origin, ScalarKind, Value, resolve_plain};

/// How a relative path is treated (after `~` / `$VAR` expansion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathRule {
    /// Relative to the config file's directory (or, for an environment or
    /// `--set` override, to the current directory).
    RelativeToConfig,
    /// Must be absolute: a relative value is an error naming the key.
    Absolute,
}

/// What the reader needs besides the tree.
#[derive(Debug)]
pub(crate) struct ReadContext<'a> {
    /// Variables for `$VAR` and `~` expansion.
    pub(crate) env: &'a EnvVars,
    /// How errors in the file name it (its path).
    pub(crate) file_name: &'a str,
    /// Base of relative paths written in the file.
    pub(crate) file_dir: Option<&'a Path>,
    /// Base of relative paths given in overrides.
    pub(crate) cwd: Option<&'a Path>,
}

/// Collects errors and warnings while sections read themselves.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    ctx: ReadContext<'a>,
    pub(crate) errors: Vec<ConfigError>,
    pub(crate) warnings: Vec<ConfigWarning>,
    /// Where each path-valued key was written, for warnings found after reading
    /// (a file that does not exist).
    pub(crate) path_origins: HashMap<String, Origin>,
    /// Keys a section's `read` asked for that its struct does not have (see
    /// [`Fields::node`]); shared with every [`Fields`] this reader opens.
    misreads: Rc<RefCell<Vec<String>>>,
}

/// The entries of one mapping, after unknown keys were reported.
#[derive(Debug)]
pub(crate) struct Fields<'n> {
    parent: String,
    origin: Origin,
    entries: Vec<(&'n str, &'n Node)>,
    /// The keys this mapping may have: what [`Fields::node`] may be asked for.
    allowed: &'static [&'static str],
    /// Where a name outside `allowed` is recorded (the reader's list).
    misreads: Rc<RefCell<Vec<String>>>,
}

impl<'n> Fields<'n> {
    /// The dotted key path of a child.
    pub(crate) fn key(&self, name: &str) -> String {
        if self.parent.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.parent)
        }
    }

    /// The value of a key, if written.
    ///
    /// A section's `read` names its keys as strings; a name that is not one of
    /// the mapping's allowed keys (a typo in the reader) could never be found,
    /// so the key would be accepted by the unknown-key check and then silently
    /// ignored. Such a name is recorded here and every load then fails with an
    /// error naming the section and the name (see [`Reader::take_errors`]), so
    /// any test that reads the section catches it.
    pub(crate) fn node(&self, name: &str) -> Option<&'n Node> {
        if !self.allowed.contains(&name) {
            self.misreads.borrow_mut().push(self.key(name));
            return None;
        }
        self.entries
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, n)| *n)
    }

    /// Where the mapping itself is (for "missing key" errors).
    pub(crate) fn origin(&self) -> &Origin {
        &self.origin
    }
}

impl<'a> Reader<'a> {
    pub(crate) fn new(ctx: ReadContext<'a>) -> Self {
        Reader {
            ctx,
            errors: Vec::new(),
            warnings: Vec::new(),
            path_origins: HashMap::new(),
            misreads: Rc::new(RefCell::new(Vec::new())),
        }
    }

    /// The errors recorded so far, with one for every key a section's reader
    /// asked for that its struct does not have (a misspelt read, a bug in
    /// leash-config rather than in the file: it fails closed all the same).
    pub(crate) fn take_errors(&mut self) -> Vec<ConfigError> {
        let misreads: Vec<String> = self.misreads.borrow_mut().drain(..).collect();
        for key in misreads {
            let (section, name) = key.rsplit_once('.').unwrap_or(("(top level)", &key));
            self.errors.push(ConfigError {
                key: key.clone(),
                line: None,
                column: None,
                message: format!(
                    "leash-config's reader asks for `{name}`, which is not a key of `{section}` \
                     (a misspelt read in the schema: the key would be silently ignored)"
                ),
                source_name: "leash-config schema".to_string(),
            });
        }
        std::mem::take(&mut self.errors)
    }

    fn locate(&self, origin: &Origin) -> (String, Option<usize>, Option<usize>) {
        match origin {
            Origin::File { line, column } => {
                (self.ctx.file_name.to_string(), Some(*line), Some(*column))
            }
            Origin::Override { label } => (label.to_string(), None, None),
        }
    }

    /// Record an error about `key` at `origin`.
    pub(crate) fn error(&mut self, origin: &Origin, key: &str, message: impl Into<String>) {
        let (source_name, line, column) = self.locate(origin);
        self.errors.push(ConfigError {
            key: key.to_string(),
            line,
            column,
            message: message.into(),
            source_name,
        });
    }

    /// Record a warning about the path-valued `key`, at the place it was written.
    pub(crate) fn warn_path(&mut self, key: &str, message: impl Into<String>) {
        match self.path_origins.get(key).cloned() {
            Some(origin) => self.warn(&origin, key, message),
            None => self.warnings.push(ConfigWarning {
                key: key.to_string(),
                line: None,
                column: None,
                message: message.into(),
                source_name: "built-in default".to_string(),
            }),
        }
    }

    /// Record a warning about `key` at `origin`.
    pub(crate) fn warn(&mut self, origin: &Origin, key: &str, message: impl Into<String>) {
        let (source_name, line, column) = self.locate(origin);
        self.warnings.push(ConfigWarning {
            key: key.to_string(),
            line,
            column,
            message: message.into(),
            source_name,
        });
    }

    /// Open a mapping whose keys are `allowed`; a null node is an empty mapping
    /// (`model:` with everything under it commented out). Unknown keys are errors
    /// with a "did you mean" when one is close or the key belongs to another section.
    pub(crate) fn fields<'n>(
        &mut self,
        node: &'n Node,
        key: &str,
        allowed: &'static [&'static str],
    ) -> Fields<'n> {
        let mut fields = Fields {
            parent: key.to_string(),
            origin: node.origin.clone(),
            entries: Vec::new(),
            allowed,
            misreads: Rc::clone(&self.misreads),
        };
        match &node.value {
            Value::Map(entries) => {
                for entry in entries {
                    if allowed.contains(&entry.key.as_str()) {
                        fields.entries.push((entry.key.as_str(), &entry.value));
                    } else {
                        let child = fields.key(&entry.key);
                        let message = unknown_key_message(&entry.key, key, allowed);
                        self.error(&entry.key_origin, &child, message);
                    }
                }
            }
            Value::Scalar(_) if node.is_null() => {}
            Value::Scalar(_) | Value::Seq(_) => {
                self.error(
                    &node.origin,
                    key,
                    format!("expected a mapping of keys, found {}", node.describe()),
                );
            }
        }
        fields
    }

    /// Read `name` into `slot` when written; type errors are recorded by `read`.
    pub(crate) fn field<T>(
        &mut self,
        fields: &Fields<'_>,
        name: &str,
        slot: &mut T,
        read: impl FnOnce(&mut Self, &Node, &str) -> Option<T>,
    ) {
        if let Some(node) = fields.node(name)
            && let Some(value) = read(self, node, &fields.key(name))
        {
            *slot = value;
        }
    }

    /// Like [`Reader::field`] for optional keys: an explicit `null` means "not set".
    pub(crate) fn optional<T>(
        &mut self,
        fields: &Fields<'_>,
        name: &str,
        slot: &mut Option<T>,
        read: impl FnOnce(&mut Self, &Node, &str) -> Option<T>,
    ) {
        match fields.node(name) {
            Some(node) if node.is_null() => *slot = None,
            Some(node) => {
                if let Some(value) = read(self, node, &fields.key(name)) {
                    *slot = Some(value);
                }
            }
            None => {}
        }
    }

    fn type_error(&mut self, node: &Node, key: &str, expected: &str) {
        let hint = match &node.value {
            Value::Scalar(s)
                if s.kind == ScalarKind::Str && resolve_plain(&s.text) != ScalarKind::Str =>
            {
                " (quoted values are strings)"
            }
            _ => "",
        };
        self.error(
            &node.origin,
            key,
            format!("expected {expected}, found {}{hint}", node.describe()),
        );
    }

    /// A string. Plain numbers are accepted as their text (`name: 7b`); booleans
    /// and null are not (quote them if meant).
    pub(crate) fn string(&mut self, node: &Node, key: &str) -> Option<String> {
        match &node.value {
            Value::Scalar(s)
                if matches!(
                    s.kind,
                    ScalarKind::Str | ScalarKind::Int(_) | ScalarKind::Float(_)
                ) =>
            {
                Some(s.text.clone())
            }
            _ => {
                self.type_error(node, key, "a string");
                None
            }
        }
    }

    /// A string that is not empty or blank.
    pub(crate) fn nonempty_string(&mut self, node: &Node, key: &str) -> Option<String> {
        let text = self.string(node, key)?;
        if text.trim().is_empty() {
            self.error(&node.origin, key, "must not be empty");
            return None;
        }
        Some(text)
    }

    /// `true` or `false`.
    pub(crate) fn boolean(&mut self, node: &Node, key: &str) -> Option<bool> {
        match &node.value {
            Value::Scalar(s) => match s.kind {
                ScalarKind::Bool(b) => Some(b),
                ScalarKind::Null | ScalarKind::Int(_) | ScalarKind::Float(_) | ScalarKind::Str => {
                    self.type_error(node, key, "true or false");
                    None
                }
            },
            Value::Seq(_) | Value::Map(_) => {
                self.type_error(node, key, "true or false");
                None
            }
        }
    }

    /// A whole number of at least `min`.
    pub(crate) fn integer(&mut self, node: &Node, key: &str, min: u64) -> Option<u64> {
        let Value::Scalar(scalar) = &node.value else {
            self.type_error(node, key, "a whole number");
            return None;
        };
        let ScalarKind::Int(value) = scalar.kind else {
            self.type_error(node, key, "a whole number");
            return None;
        };
        match u64::try_from(value) {
            Ok(v) if v >= min => Some(v),
            Ok(_) | Err(_) if value < i128::from(min) => {
                let message = if min == 1 {
                    format!("must be greater than 0, found {value}")
                } else {
                    format!("must be at least {min}, found {value}")
                };
                self.error(&node.origin, key, message);
                None
            }
            Ok(_) | Err(_) => {
                self.error(&node.origin, key, format!("{value} is too large"));
                None
            }
        }
    }

    /// A whole number of at least `min` that fits 32 bits.
    pub(crate) fn integer32(&mut self, node: &Node, key: &str, min: u32) -> Option<u32> {
        let value = self.integer(node, key, u64::from(min))?;
        match u32::try_from(value) {
            Ok(v) => Some(v),
            Err(_) => {
                self.error(
                    &node.origin,
                    key,
                    format!("{value} is too large (at most {})", u32::MAX),
                );
                None
            }
        }
    }

    /// A finite number in `min..=max`.
    pub(crate) fn number(&mut self, node: &Node, key: &str, min: f64, max: f64) -> Option<f64> {
        let value = match &node.value {
            Value::Scalar(s) => match s.kind {
                #[allow(clippy::cast_precision_loss)]
                ScalarKind::Int(v) => v as f64,
                ScalarKind::Float(v) => v,
                ScalarKind::Null | ScalarKind::Bool(_) | ScalarKind::Str => {
                    self.type_error(node, key, "a number");
                    return None;
                }
            },
            Value::Seq(_) | Value::Map(_) => {
                self.type_error(node, key, "a number");
                return None;
            }
        };
        if !(value.is_finite() && (min..=max).contains(&value)) {
            self.error(
                &node.origin,
                key,
                format!("must be a number from {min} to {max}, found {value}"),
            );
            return None;
        }
        Some(value)
    }

    /// One of `E`'s spellings.
    pub(crate) fn enumeration<E: YamlEnum>(&mut self, node: &Node, key: &str) -> Option<E> {
        let Value::Scalar(scalar) = &node.value else {
            self.type_error(node, key, &format!("a {}", E::WHAT));
            return None;
        };
        if matches!(scalar.kind, ScalarKind::Null | ScalarKind::Bool(_)) {
            self.type_error(node, key, &format!("a {}", E::WHAT));
            return None;
        }
        match parse_variant::<E>(&scalar.text) {
            Ok(v) => Some(v),
            Err(unknown) => {
                self.error(&node.origin, key, unknown.to_string());
                None
            }
        }
    }

    /// A list whose items are read by `item` (keys `key[0]`, `key[1]`, ...).
    pub(crate) fn list<T>(
        &mut self,
        node: &Node,
        key: &str,
        mut item: impl FnMut(&mut Self, &Node, &str) -> Option<T>,
    ) -> Option<Vec<T>> {
        let Value::Seq(items) = &node.value else {
            let extra = if node.is_null() {
                " (write [] for an empty list)"
            } else {
                ""
            };
            self.error(
                &node.origin,
                key,
                format!("expected a list, found {}{extra}", node.describe()),
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, child) in items.iter().enumerate() {
            if let Some(v) = item(self, child, &format!("{key}[{i}]")) {
                out.push(v);
            }
        }
        Some(out)
    }

    /// A path: `~` and `$VAR` expanded, then made absolute by `rule`.
    pub(crate) fn path(&mut self, node: &Node, key: &str, rule: PathRule) -> Option<PathBuf> {
        self.path_origins
            .insert(key.to_string(), node.origin.clone());
        let text = self.string(node, key)?;
        if text.trim().is_empty() {
            self.error(&node.origin, key, "empty path");
            return None;
        }
        let expanded = match expand_path_text(&text, self.ctx.env) {
            Ok(t) => t,
            Err(e) => {
                self.error(&node.origin, key, format!("cannot expand {text:?}: {e}"));
                return None;
            }
        };
        let path = PathBuf::from(&expanded);
        if path.is_absolute() {
            return Some(absolutize(&path, Path::new("/")));
        }
        match rule {
            PathRule::Absolute => {
                self.error(
                    &node.origin,
                    key,
                    format!("must be an absolute path, found {expanded:?}"),
                );
                None
            }
            PathRule::RelativeToConfig => {
                let base = match &node.origin {
                    Origin::File { .. } => self.ctx.file_dir,
                    Origin::Override { .. } => self.ctx.cwd,
                };
                match base {
                    Some(base) => Some(absolutize(&path, base)),
                    None => {
                        self.error(
                            &node.origin,
                            key,
                            format!(
                                "relative path {expanded:?} but the current directory is unknown"
                            ),
                        );
                        None
                    }
                }
            }
        }
    }

    /// A glob pattern (`*.flag`), checked for syntax.
    pub(crate) fn glob(&mut self, node: &Node, key: &str) -> Option<String> {
        let text = self.nonempty_string(node, key)?;
        match globset::Glob::new(&text) {
            Ok(_) => Some(text),
            Err(e) => {
                self.error(
                    &node.origin,
                    key,
                    format!("invalid glob pattern {text:?}: {}", e.kind()),
                );
                None
            }
        }
    }
}

fn unknown_key_message(name: &str, parent: &str, allowed: &[&str]) -> String {
    let here = if parent.is_empty() {
        "at the top level".to_string()
    } else {
        format!("in {parent}")
    };
    let mut message = format!("unknown key {name:?} {here}");
    if let Some(close) = closest(name, allowed.iter().copied()) {
        message.push_str(&format!(" (did you mean {close:?}?)"));
    } else if let Some(elsewhere) = crate::schema::where_key_belongs(name)
        .into_iter()
        .find(|k| !k.starts_with(&format!("{parent}.")))
    {
        message.push_str(&format!(" (it belongs in {elsewhere})"));
    } else {
        message.push_str(&format!("; allowed keys: {}", allowed.join(", ")));
    }
    message
}
