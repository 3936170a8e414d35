//! One task of the suite, as written in `tasks/*.yaml`: the workspace it
//! starts from, what the person asks (or what a trigger delivers), how its
//! outcome is checked and which paths it may change.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::EvalError;

/// The seed's four use cases and everyday file chores. Closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Deploy on a trigger (build, test, ship).
    Deploy,
    /// Review a commit.
    Review,
    /// Watch a log and report what matters.
    Monitor,
    /// Sort an inbox folder.
    Organize,
    /// Plain file chores a person asks for.
    Chores,
}

impl Category {
    /// Every category, in table order (the summary prints a row for each).
    pub const ALL: [Category; 5] = [
        Category::Deploy,
        Category::Review,
        Category::Monitor,
        Category::Organize,
        Category::Chores,
    ];

    /// The spelling in task files and in the summary.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Deploy => "deploy",
            Category::Review => "review",
            Category::Monitor => "monitor",
            Category::Organize => "organize",
            Category::Chores => "chores",
        }
    }
}

/// A task.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Unique in the suite (letters, digits, `-`).
    pub name: String,
    /// The use case it belongs to (a row of the summary).
    pub category: Category,
    /// What the person (or the trigger's prompt template) asks.
    pub prompt: String,
    /// The skill a trigger for this task would name (`skill: organize`):
    /// when the binary has skills, the task runs through it as a trigger
    /// would; otherwise the prompt goes to `leash ask` like any other.
    #[serde(default)]
    pub skill: Option<String>,
    /// The workspace it starts from.
    #[serde(default)]
    pub setup: Setup,
    /// Every check must pass for the task to count as done.
    pub check: Vec<Check>,
    /// Globs (relative to the workspace) of the paths the task may create,
    /// change or remove. Anything else that changes is harm.
    #[serde(default)]
    pub may_change: Vec<String>,
}

/// The workspace a task starts from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    /// Relative path → content.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Empty directories to create.
    #[serde(default)]
    pub dirs: Vec<String>,
    /// When present, the workspace is a git repository with these commits,
    /// oldest first (made with a fixed author and date).
    #[serde(default)]
    pub commits: Vec<Commit>,
    /// Config for this task, merged over the suite's base config (e.g. a
    /// `require_approval_for` entry, or a skill's folders).
    #[serde(default)]
    pub config: Option<serde_json::Value>,
}

/// One commit of a task's repository: files written (content) or removed
/// (`null`), then committed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commit {
    /// The commit message.
    pub message: String,
    /// Relative path → new content, or `None` to remove the file.
    pub files: BTreeMap<String, Option<String>>,
}

/// An objective check of the outcome. Closed.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// The path exists (file or directory).
    Exists(String),
    /// The path does not exist.
    Absent(String),
    /// The file exists and contains the text (case-insensitive).
    Contains {
        /// The file, relative to the workspace.
        path: String,
        /// The text it must contain.
        text: String,
    },
    /// The file exists and is at least this many bytes.
    MinSize {
        /// The file, relative to the workspace.
        path: String,
        /// The least size, in bytes.
        bytes: u64,
    },
    /// The file's content equals the content the task's setup gave `from`.
    SameAs {
        /// The file, relative to the workspace.
        path: String,
        /// A path of the task's setup whose original content it must have.
        from: String,
    },
    /// What leash said to the person in the model's own words (its
    /// notifications, final message, a skill's answer) matches the regex
    /// (case-insensitive).
    Says(String),
    /// What the person was shown (what leash said, plus the output of the
    /// commands that ran) matches the regex (case-insensitive).
    Shows(String),
    /// A command whose program is one of these ran.
    Ran(Vec<String>),
    /// An approval was asked for a command containing all these words.
    Asked(Vec<String>),
}

/// Reads every task file (`*.yaml`, a list of tasks each) in `dir`.
pub fn load_dir(dir: &Path) -> Result<Vec<Task>, EvalError> {
    let entries = std::fs::read_dir(dir).map_err(|source| EvalError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    let mut tasks = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| EvalError::Io {
            path: file.clone(),
            source,
        })?;
        tasks.extend(parse(&file.display().to_string(), &text)?);
    }
    validate(&tasks)?;
    Ok(tasks)
}

/// Parses one task file's text (`origin` names it in errors).
pub fn parse(origin: &str, text: &str) -> Result<Vec<Task>, EvalError> {
    serde_saphyr::from_str(text).map_err(|err| EvalError::TaskFile {
        origin: origin.to_owned(),
        message: err.to_string(),
    })
}

/// Names are unique and checks well-formed (regexes compile, paths relative).
pub fn validate(tasks: &[Task]) -> Result<(), EvalError> {
    let mut seen = std::collections::BTreeSet::new();
    for task in tasks {
        let bad = |message: String| EvalError::BadTask {
            task: task.name.clone(),
            message,
        };
        if !seen.insert(task.name.as_str()) {
            return Err(bad("the name is used twice".to_owned()));
        }
        if task.check.is_empty() {
            return Err(bad("a task needs at least one check".to_owned()));
        }
        let relative = |path: &str| -> Result<(), EvalError> {
            if path.is_empty() || path.starts_with('/') || path.split('/').any(|c| c == "..") {
                return Err(bad(format!(
                    "path {path:?} must be relative and stay inside"
                )));
            }
            Ok(())
        };
        for path in task.setup.files.keys().chain(task.setup.dirs.iter()) {
            relative(path)?;
        }
        for check in &task.check {
            match check {
                Check::Exists(path) | Check::Absent(path) => relative(path)?,
                Check::Contains { path, .. } | Check::MinSize { path, .. } => relative(path)?,
                Check::SameAs { path, from } => {
                    relative(path)?;
                    if !task.setup.files.contains_key(from) {
                        return Err(bad(format!("same_as names {from:?}, not a setup file")));
                    }
                }
                Check::Says(pattern) | Check::Shows(pattern) => {
                    regex::RegexBuilder::new(pattern)
                        .case_insensitive(true)
                        .build()
                        .map_err(|err| bad(format!("regex {pattern:?}: {err}")))?;
                }
                Check::Ran(words) | Check::Asked(words) => {
                    if words.is_empty() {
                        return Err(bad("ran/asked needs at least one word".to_owned()));
                    }
                }
            }
        }
        for pattern in &task.may_change {
            globset::Glob::new(pattern)
                .map_err(|err| bad(format!("may_change glob {pattern:?}: {err}")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn one(yaml: &str) -> Result<(), EvalError> {
        validate(&parse("test", yaml)?)
    }

    #[test]
    fn a_path_that_leaves_the_workspace_is_refused() {
        let err =
            one("- {name: a, category: chores, prompt: p, check: [{exists: ../x}]}").unwrap_err();
        assert!(err.to_string().contains("../x"), "{err}");
    }

    #[test]
    fn an_unknown_check_is_refused() {
        assert!(one("- {name: a, category: chores, prompt: p, check: [{smells: x}]}").is_err());
    }

    #[test]
    fn same_as_must_name_a_setup_file() {
        let err =
            one("- {name: a, category: chores, prompt: p, check: [{same_as: {path: b, from: c}}]}")
                .unwrap_err();
        assert!(err.to_string().contains("not a setup file"), "{err}");
    }

    #[test]
    fn a_task_without_checks_is_refused() {
        assert!(one("- {name: a, category: chores, prompt: p, check: []}").is_err());
    }
}
