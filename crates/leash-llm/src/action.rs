//! The actions a model may propose (docs/DESIGN.md "Models"). This is
//! the single definition: the grammar for the embedded model
//! ([`crate::actions_gbnf`]), the JSON schema for servers
//! ([`crate::actions_json_schema`]) and the parser all derive from
//! [`ActionKind::ALL`] and its [`ActionKind::payload`], so they cannot drift.
//!
//! ```json
//! {"thought": "...", "actions": [{"run": ["ls", "-la"], "cwd": "src"}], "done": false}
//! ```
//!
//! `cwd` is a *sibling* key of `run` in the same object, which serde's external
//! tagging cannot express, so (de)serialization is written by hand on top of
//! [`serde_json::Value`]; that also lets every error name the exact place
//! (`actions[1].run[0]`) and the problem, in words a model can act on.

use std::path::PathBuf;

use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::command_shapes::CommandShapes;

/// At most this many actions in one answer: a model stuck in a loop must not
/// queue thousands of approvals.
pub const MAX_ACTIONS_PER_PLAN: usize = 64;

/// One model turn: optional reasoning, the actions to take, and whether the
/// model considers the job finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionPlan {
    /// Free text; recorded, never executed.
    pub thought: Option<String>,
    /// In order; each is judged by the policy on its own.
    pub actions: Vec<Action>,
    /// True when the model has nothing more to do.
    pub done: bool,
}

/// One proposed action. Exactly one action key per JSON object:
/// `{"run": [...], "cwd"?: ...}`, `{"write_file": {...}}`, ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run a program with an argv (never a shell string). `cwd` is relative to
    /// the workspace.
    Run {
        /// The program and its arguments, passed to the sandbox as they are.
        argv: Vec<String>,
        /// Where it runs, relative to the workspace; `None`: the workspace.
        cwd: Option<PathBuf>,
    },
    /// Write (create or replace) a file with the given content.
    WriteFile(FileWrite),
    /// Move or rename.
    Move(Transfer),
    /// Copy.
    Copy(Transfer),
    /// Create a directory (and parents).
    Mkdir(PathBuf),
    /// Move a path to leash's trash (undoable).
    Delete(PathBuf),
    /// Tell the person something.
    Notify(String),
}

/// `{"path": ..., "content": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWrite {
    /// The file to create or replace (relative paths are under the workspace).
    pub path: PathBuf,
    /// Its whole new text; the old content, if any, is kept for undo.
    pub content: String,
}

/// `{"from": ..., "to": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The existing path to move or copy.
    pub from: PathBuf,
    /// Where it ends up.
    pub to: PathBuf,
}

/// The action variants, in the order the grammar and schema list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// `run`: [`Action::Run`].
    Run,
    /// `write_file`: [`Action::WriteFile`].
    WriteFile,
    /// `move`: [`Action::Move`].
    Move,
    /// `copy`: [`Action::Copy`].
    Copy,
    /// `mkdir`: [`Action::Mkdir`].
    Mkdir,
    /// `delete`: [`Action::Delete`] (to the trash, undoable).
    Delete,
    /// `notify`: [`Action::Notify`] (a message to the person, no effect).
    Notify,
}

/// What kind of value a string field holds: decides the checks the parser
/// applies (paths and argv words may not be empty or contain NUL) and the
/// length the grammar and the schema admit ([`StringRole::max_chars`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringRole {
    /// A path, relative to the workspace or absolute; non-empty, no NUL.
    Path,
    /// A short message for people (`thought`, `notify`); anything JSON can hold.
    Message,
    /// Free text (file content); anything JSON can hold.
    Text,
}

/// At most this many actions per answer in the grammar and the schema (the
/// parser reads up to [`MAX_ACTIONS_PER_PLAN`]): a small model repeats an
/// action (`ls -la` a dozen times) until its budget runs out; a step of more
/// than 8 actions is rare, and the next step can go on after the RESULTS.
pub const MAX_ACTIONS_PER_ANSWER: usize = 8;

/// At most this many argv items (program included) in a `run` action, in the
/// grammar and the schema. The parser accepts more (a server that ignores the
/// schema is still judged by the policy); the cap is there so a small model
/// cannot loop on arguments until its token budget runs out.
pub const MAX_ARGV_ITEMS: usize = 16;

/// The longest argv item, in characters, the grammar and the schema admit.
pub const MAX_ARGV_ITEM_CHARS: usize = 256;

impl StringRole {
    /// The longest string of this role, in characters, the grammar and the
    /// schema admit. Like [`MAX_ARGV_ITEMS`] these caps stop a small model
    /// that repeats itself inside a string (it must close the string when the
    /// cap is reached); the parser does not enforce them. File content gets
    /// the most room, bounded by llama.cpp's limit of 2,000 repetitions of one
    /// grammar item; a model that needs a longer file must split it.
    pub fn max_chars(self) -> usize {
        match self {
            StringRole::Path => 256,
            StringRole::Message => 512,
            StringRole::Text => 2000,
        }
    }
}

/// Which program names a `run` action may start with (its `argv[0]`), for the
/// grammar and the schema. The policy decides either way; narrowing the
/// choice only keeps a model from spending its steps on programs the policy
/// would deny (a 135M model otherwise writes words, not programs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgramChoice<'a> {
    /// Any non-empty name.
    #[default]
    Any,
    /// Only these names (the policy's whitelist). Empty: nothing may run, so
    /// the grammar and the schema have no `run` action at all.
    OneOf(&'a [String]),
    /// Typed shapes: these programs with only their own options and operands
    /// of the right kind, `cwd` and the paths that must exist chosen from the
    /// workspace's entries (see [`CommandShapes`]).
    Typed(&'a CommandShapes),
}

impl<'a> ProgramChoice<'a> {
    /// Whether a `run` action can be proposed at all.
    pub fn allows_run(self) -> bool {
        match self {
            ProgramChoice::Any => true,
            ProgramChoice::OneOf(names) => names.iter().any(|name| !name.is_empty()),
            ProgramChoice::Typed(shapes) => shapes.programs.iter().any(|p| !p.name.is_empty()),
        }
    }

    /// The distinct non-empty names, in order (`None` for [`ProgramChoice::Any`]).
    pub fn names(self) -> Option<Vec<&'a str>> {
        let mut seen: Vec<&'a str> = Vec::new();
        let mut add = |name: &'a str| {
            if !name.is_empty() && !seen.contains(&name) {
                seen.push(name);
            }
        };
        match self {
            ProgramChoice::Any => return None,
            ProgramChoice::OneOf(names) => names.iter().for_each(|n| add(n)),
            ProgramChoice::Typed(shapes) => shapes.programs.iter().for_each(|p| add(&p.name)),
        }
        Some(seen)
    }

    /// The typed shapes, when the choice has them.
    pub fn shapes(self) -> Option<&'a CommandShapes> {
        match self {
            ProgramChoice::Typed(shapes) => Some(shapes),
            ProgramChoice::Any | ProgramChoice::OneOf(_) => None,
        }
    }

    /// An owned copy, for backends that keep the grammar of the last choice.
    pub fn to_owned_choice(self) -> OwnedProgramChoice {
        match self {
            ProgramChoice::Any => OwnedProgramChoice::Any,
            ProgramChoice::OneOf(names) => OwnedProgramChoice::OneOf(names.to_vec()),
            ProgramChoice::Typed(shapes) => OwnedProgramChoice::Typed(shapes.clone()),
        }
    }
}

/// [`ProgramChoice`], owned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OwnedProgramChoice {
    /// [`ProgramChoice::Any`]: any non-empty program name.
    #[default]
    Any,
    /// [`ProgramChoice::OneOf`]: the policy's whitelist of program names.
    OneOf(Vec<String>),
    /// [`ProgramChoice::Typed`]: each program with its own options and operands.
    Typed(CommandShapes),
}

impl OwnedProgramChoice {
    /// Borrowed, to generate a grammar or a schema.
    pub fn as_choice(&self) -> ProgramChoice<'_> {
        match self {
            OwnedProgramChoice::Any => ProgramChoice::Any,
            OwnedProgramChoice::OneOf(names) => ProgramChoice::OneOf(names),
            OwnedProgramChoice::Typed(shapes) => ProgramChoice::Typed(shapes),
        }
    }
}

/// The value under an action's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// A non-empty array of strings; the first (the program) non-empty; no NUL.
    Argv,
    /// One string.
    String(StringRole),
    /// An object with exactly these string fields, all required, in this order.
    Fields(&'static [(&'static str, StringRole)]),
}

/// An optional key that may sit next to the action key in the same object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiblingKey {
    /// The key as the model writes it (`cwd`).
    pub name: &'static str,
    /// What its string value is (a path, free text), for the grammar and checks.
    pub role: StringRole,
}

const RUN_SIBLINGS: &[SiblingKey] = &[SiblingKey {
    name: "cwd",
    role: StringRole::Path,
}];
const WRITE_FILE_FIELDS: &[(&str, StringRole)] =
    &[("path", StringRole::Path), ("content", StringRole::Text)];
const TRANSFER_FIELDS: &[(&str, StringRole)] =
    &[("from", StringRole::Path), ("to", StringRole::Path)];

impl ActionKind {
    /// Every variant, in grammar/schema order.
    pub const ALL: [ActionKind; 7] = [
        ActionKind::Run,
        ActionKind::WriteFile,
        ActionKind::Move,
        ActionKind::Copy,
        ActionKind::Mkdir,
        ActionKind::Delete,
        ActionKind::Notify,
    ];

    /// The JSON key that names this action.
    pub fn key(self) -> &'static str {
        match self {
            ActionKind::Run => "run",
            ActionKind::WriteFile => "write_file",
            ActionKind::Move => "move",
            ActionKind::Copy => "copy",
            ActionKind::Mkdir => "mkdir",
            ActionKind::Delete => "delete",
            ActionKind::Notify => "notify",
        }
    }

    /// The shape of the value under [`ActionKind::key`].
    pub fn payload(self) -> Payload {
        match self {
            ActionKind::Run => Payload::Argv,
            ActionKind::WriteFile => Payload::Fields(WRITE_FILE_FIELDS),
            ActionKind::Move | ActionKind::Copy => Payload::Fields(TRANSFER_FIELDS),
            ActionKind::Mkdir | ActionKind::Delete => Payload::String(StringRole::Path),
            ActionKind::Notify => Payload::String(StringRole::Message),
        }
    }

    /// Optional keys allowed next to the action key (`cwd` for `run`).
    pub fn siblings(self) -> &'static [SiblingKey] {
        match self {
            ActionKind::Run => RUN_SIBLINGS,
            ActionKind::WriteFile
            | ActionKind::Move
            | ActionKind::Copy
            | ActionKind::Mkdir
            | ActionKind::Delete
            | ActionKind::Notify => &[],
        }
    }

    /// A one-line example, used in prompts and re-ask messages.
    pub fn example(self) -> &'static str {
        match self {
            ActionKind::Run => r#"{"run": ["ls", "-la"], "cwd": "src"}"#,
            ActionKind::WriteFile => {
                r#"{"write_file": {"path": "notes.txt", "content": "hello\n"}}"#
            }
            ActionKind::Move => r#"{"move": {"from": "a.txt", "to": "b.txt"}}"#,
            ActionKind::Copy => r#"{"copy": {"from": "a.txt", "to": "b.txt"}}"#,
            ActionKind::Mkdir => r#"{"mkdir": "build"}"#,
            ActionKind::Delete => r#"{"delete": "old.log"}"#,
            ActionKind::Notify => r#"{"notify": "Backup finished."}"#,
        }
    }

    /// The variant named by a JSON key.
    pub fn from_key(key: &str) -> Option<ActionKind> {
        ActionKind::ALL.into_iter().find(|kind| kind.key() == key)
    }
}

impl Action {
    /// Which variant this is.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Run { .. } => ActionKind::Run,
            Action::WriteFile(_) => ActionKind::WriteFile,
            Action::Move(_) => ActionKind::Move,
            Action::Copy(_) => ActionKind::Copy,
            Action::Mkdir(_) => ActionKind::Mkdir,
            Action::Delete(_) => ActionKind::Delete,
            Action::Notify(_) => ActionKind::Notify,
        }
    }
}

/// What is wrong with a JSON value that was meant to be an [`ActionPlan`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct PlanError {
    /// Where, e.g. `actions[1].run[0]`; `the answer` for the top level.
    pub path: String,
    /// What is wrong there; its text is what the model is re-asked with.
    pub problem: PlanProblem,
}

/// The problem found at a [`PlanError::path`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanProblem {
    /// A JSON value of the wrong kind (a string where a list belongs).
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// The kind the plan's shape asks for here.
        expected: &'static str,
        /// The kind the model wrote.
        found: &'static str,
    },
    /// A key the shape requires was left out (`content` of a `write_file`).
    #[error("the required key \"{0}\" is missing")]
    MissingKey(&'static str),
    /// A key this object does not have (plans are strict: no extra keys).
    #[error("unknown key \"{key}\" (allowed here: {allowed})")]
    UnknownKey {
        /// The key the model wrote.
        key: String,
        /// The keys this object may have, listed for the re-ask.
        allowed: String,
    },
    /// An action name leash does not have (`shell`, `exec`).
    #[error("unknown action \"{key}\" (actions are: {known})")]
    UnknownAction {
        /// The name the model wrote.
        key: String,
        /// The action names there are, listed for the re-ask.
        known: String,
    },
    /// An action object with only sibling keys (`{"cwd": ...}` alone).
    #[error("an action object has no action key (one of: {known})")]
    NoActionKey {
        /// The action names there are, listed for the re-ask.
        known: String,
    },
    /// Two actions in one object: which one was meant is not guessed.
    #[error("one object holds several actions ({keys}); put each action in its own object")]
    SeveralActionKeys {
        /// The action keys found together.
        keys: String,
    },
    /// `run: []`: nothing to run.
    #[error("the argv is empty; give the program and its arguments as a list of strings")]
    EmptyArgv,
    /// `run: [""]`: no program named.
    #[error("the program name (the first argv element) is empty")]
    EmptyProgram,
    /// A path action with `""`: no file to act on.
    #[error("the path is empty")]
    EmptyPath,
    /// A NUL byte, which the OS would cut the argument or path at.
    #[error("contains a NUL character, which no path or argument can hold")]
    NulCharacter,
    /// More actions in one answer than a step may carry out.
    #[error("{count} actions is too many; propose at most {limit} per answer")]
    TooManyActions {
        /// How many the answer proposed.
        count: usize,
        /// The most one answer may propose.
        limit: usize,
    },
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn fail<T>(path: &str, problem: PlanProblem) -> Result<T, PlanError> {
    Err(PlanError {
        path: path.to_string(),
        problem,
    })
}

fn known_actions() -> String {
    ActionKind::ALL.map(ActionKind::key).join(", ")
}

fn as_object<'v>(value: &'v Value, path: &str) -> Result<&'v Map<String, Value>, PlanError> {
    match value {
        Value::Object(map) => Ok(map),
        other => fail(
            path,
            PlanProblem::WrongType {
                expected: "an object",
                found: type_name(other),
            },
        ),
    }
}

fn as_string(value: &Value, path: &str, role: StringRole) -> Result<String, PlanError> {
    let Value::String(text) = value else {
        return fail(
            path,
            PlanProblem::WrongType {
                expected: "a string",
                found: type_name(value),
            },
        );
    };
    match role {
        StringRole::Path if text.is_empty() => fail(path, PlanProblem::EmptyPath),
        StringRole::Path if text.contains('\0') => fail(path, PlanProblem::NulCharacter),
        StringRole::Path | StringRole::Message | StringRole::Text => Ok(text.clone()),
    }
}

fn as_argv(value: &Value, path: &str) -> Result<Vec<String>, PlanError> {
    let Value::Array(items) = value else {
        return fail(
            path,
            PlanProblem::WrongType {
                expected: "a list of strings (program and arguments)",
                found: type_name(value),
            },
        );
    };
    if items.is_empty() {
        return fail(path, PlanProblem::EmptyArgv);
    }
    let mut argv = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{index}]");
        let word = as_string(item, &item_path, StringRole::Text)?;
        if word.contains('\0') {
            return fail(&item_path, PlanProblem::NulCharacter);
        }
        if index == 0 && word.is_empty() {
            return fail(&item_path, PlanProblem::EmptyProgram);
        }
        argv.push(word);
    }
    Ok(argv)
}

/// A required field of a [`Payload::Fields`] object.
fn field(
    map: &Map<String, Value>,
    path: &str,
    name: &'static str,
    role: StringRole,
) -> Result<String, PlanError> {
    match map.get(name) {
        Some(value) => as_string(value, &format!("{path}.{name}"), role),
        None => fail(path, PlanProblem::MissingKey(name)),
    }
}

fn check_keys<'k>(
    keys: impl Iterator<Item = &'k String>,
    allowed: &[&str],
    path: &str,
) -> Result<(), PlanError> {
    for key in keys {
        if !allowed.contains(&key.as_str()) {
            return fail(
                path,
                PlanProblem::UnknownKey {
                    key: key.clone(),
                    allowed: allowed.join(", "),
                },
            );
        }
    }
    Ok(())
}

impl Action {
    /// Reads one action object; `path` names it in errors (`actions[0]`).
    pub fn from_json(value: &Value, path: &str) -> Result<Action, PlanError> {
        let map = as_object(value, path)?;
        let action_keys: Vec<&String> = map
            .keys()
            .filter(|key| ActionKind::from_key(key).is_some())
            .collect();
        let kind = match action_keys.as_slice() {
            [key] => ActionKind::from_key(key),
            [] => None,
            several => {
                let keys = several
                    .iter()
                    .map(|key| format!("\"{key}\""))
                    .collect::<Vec<_>>();
                return fail(
                    path,
                    PlanProblem::SeveralActionKeys {
                        keys: keys.join(", "),
                    },
                );
            }
        };
        let Some(kind) = kind else {
            // Name the stray key when there is one: "unknown action \"shell\"".
            return match map.keys().find(|key| !is_any_sibling(key)) {
                Some(key) => fail(
                    path,
                    PlanProblem::UnknownAction {
                        key: key.clone(),
                        known: known_actions(),
                    },
                ),
                None => fail(
                    path,
                    PlanProblem::NoActionKey {
                        known: known_actions(),
                    },
                ),
            };
        };
        let mut allowed = vec![kind.key()];
        allowed.extend(kind.siblings().iter().map(|sibling| sibling.name));
        check_keys(map.keys(), &allowed, path)?;

        let key_path = format!("{path}.{}", kind.key());
        let payload = map.get(kind.key()).unwrap_or(&Value::Null);
        let action = match kind {
            ActionKind::Run => {
                let argv = as_argv(payload, &key_path)?;
                let cwd = match map.get("cwd") {
                    None | Some(Value::Null) => None,
                    Some(value) => Some(PathBuf::from(as_string(
                        value,
                        &format!("{path}.cwd"),
                        StringRole::Path,
                    )?)),
                };
                Action::Run { argv, cwd }
            }
            ActionKind::WriteFile => {
                let fields = as_object(payload, &key_path)?;
                check_keys(fields.keys(), &["path", "content"], &key_path)?;
                Action::WriteFile(FileWrite {
                    path: field(fields, &key_path, "path", StringRole::Path)?.into(),
                    content: field(fields, &key_path, "content", StringRole::Text)?,
                })
            }
            ActionKind::Move | ActionKind::Copy => {
                let fields = as_object(payload, &key_path)?;
                check_keys(fields.keys(), &["from", "to"], &key_path)?;
                let transfer = Transfer {
                    from: field(fields, &key_path, "from", StringRole::Path)?.into(),
                    to: field(fields, &key_path, "to", StringRole::Path)?.into(),
                };
                if kind == ActionKind::Move {
                    Action::Move(transfer)
                } else {
                    Action::Copy(transfer)
                }
            }
            ActionKind::Mkdir => {
                Action::Mkdir(as_string(payload, &key_path, StringRole::Path)?.into())
            }
            ActionKind::Delete => {
                Action::Delete(as_string(payload, &key_path, StringRole::Path)?.into())
            }
            ActionKind::Notify => {
                Action::Notify(as_string(payload, &key_path, StringRole::Message)?)
            }
        };
        Ok(action)
    }
}

fn is_any_sibling(key: &str) -> bool {
    ActionKind::ALL
        .iter()
        .any(|kind| kind.siblings().iter().any(|sibling| sibling.name == key))
}

/// The top-level keys of a plan.
pub const PLAN_KEYS: [&str; 3] = ["thought", "actions", "done"];

impl ActionPlan {
    /// Reads a plan object. `thought` may be absent or null (strict JSON
    /// schemas make every key required, so servers send `null`).
    pub fn from_json(value: &Value) -> Result<ActionPlan, PlanError> {
        let top = "the answer";
        let map = as_object(value, top)?;
        check_keys(map.keys(), &PLAN_KEYS, top)?;
        let thought = match map.get("thought") {
            None | Some(Value::Null) => None,
            Some(value) => Some(as_string(value, "thought", StringRole::Message)?),
        };
        let actions = match map.get("actions") {
            Some(Value::Array(items)) => items,
            Some(other) => {
                return fail(
                    "actions",
                    PlanProblem::WrongType {
                        expected: "a list of action objects",
                        found: type_name(other),
                    },
                );
            }
            None => return fail(top, PlanProblem::MissingKey("actions")),
        };
        if actions.len() > MAX_ACTIONS_PER_PLAN {
            return fail(
                "actions",
                PlanProblem::TooManyActions {
                    count: actions.len(),
                    limit: MAX_ACTIONS_PER_PLAN,
                },
            );
        }
        let actions = actions
            .iter()
            .enumerate()
            .map(|(index, item)| Action::from_json(item, &format!("actions[{index}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let done = match map.get("done") {
            Some(Value::Bool(done)) => *done,
            Some(other) => {
                return fail(
                    "done",
                    PlanProblem::WrongType {
                        expected: "true or false",
                        found: type_name(other),
                    },
                );
            }
            None => return fail(top, PlanProblem::MissingKey("done")),
        };
        Ok(ActionPlan {
            thought,
            actions,
            done,
        })
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let key = self.kind().key();
        match self {
            Action::Run { argv, cwd } => {
                let mut map = serializer.serialize_map(Some(1 + usize::from(cwd.is_some())))?;
                map.serialize_entry(key, argv)?;
                if let Some(cwd) = cwd {
                    map.serialize_entry("cwd", cwd)?;
                }
                map.end()
            }
            Action::WriteFile(write) => single_entry(serializer, key, write),
            Action::Move(transfer) | Action::Copy(transfer) => {
                single_entry(serializer, key, transfer)
            }
            Action::Mkdir(path) | Action::Delete(path) => single_entry(serializer, key, path),
            Action::Notify(text) => single_entry(serializer, key, text),
        }
    }
}

fn single_entry<S: Serializer, V: Serialize + ?Sized>(
    serializer: S,
    key: &str,
    value: &V,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(1))?;
    map.serialize_entry(key, value)?;
    map.end()
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Action::from_json(&value, "action").map_err(D::Error::custom)
    }
}

impl Serialize for ActionPlan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2 + usize::from(self.thought.is_some())))?;
        if let Some(thought) = &self.thought {
            map.serialize_entry("thought", thought)?;
        }
        map.serialize_entry("actions", &self.actions)?;
        map.serialize_entry("done", &self.done)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for ActionPlan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        ActionPlan::from_json(&value).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn run_with_cwd_round_trips_as_sibling_key() {
        let action = Action::Run {
            argv: vec!["ls".into(), "-la".into()],
            cwd: Some("src".into()),
        };
        let text = serde_json::to_string(&action).unwrap();
        assert_eq!(text, r#"{"run":["ls","-la"],"cwd":"src"}"#);
        let back: Action = serde_json::from_str(&text).unwrap();
        assert_eq!(back, action);
    }

    #[test]
    fn every_kind_example_parses_as_that_kind() {
        for kind in ActionKind::ALL {
            let value: Value = serde_json::from_str(kind.example()).unwrap();
            let action = Action::from_json(&value, "x").unwrap();
            assert_eq!(action.kind(), kind);
            let again = serde_json::to_value(&action).unwrap();
            assert_eq!(Action::from_json(&again, "x").unwrap(), action);
        }
    }

    #[test]
    fn plan_errors_name_the_place() {
        let value = json!({"actions": [{"run": ["ls"]}, {"run": []}], "done": false});
        let error = ActionPlan::from_json(&value).unwrap_err();
        assert_eq!(error.path, "actions[1].run");
        assert_eq!(error.problem, PlanProblem::EmptyArgv);
    }
}
