//! Which directories are watched and which file names in them are triggers.
//!
//! File triggers come from two places: the seed's `monitoring:` section
//! (`watch_directories` × `watch_patterns`, an implicit trigger named
//! [`MONITORING_TRIGGER`]) and `triggers:` entries of kind `file`. A pattern
//! without `/` is a file-name glob applied in every monitoring directory; a
//! pattern with `/` is a path glob whose directory part must be literal (leash
//! watches that one directory, not a tree). Watching is never recursive, so
//! leash's own `<dir>/.leash/` tree is never seen as triggers.
//!
//! When several rules match one file, named triggers win over the implicit
//! monitoring trigger, and among named triggers the first in the config wins.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{GlobBuilder, GlobMatcher};
use leash_config::{Config, ExecutionMode, TriggerConfig, TriggerKind};

use crate::error::DaemonError;

/// The name of the implicit trigger made from `monitoring:`.
pub const MONITORING_TRIGGER: &str = "monitoring";

/// The directory leash keeps its own files in, inside every watched directory.
pub(crate) const LEASH_DIR: &str = ".leash";
/// Claimed files wait here while their job is pending or running.
pub(crate) const PROCESSING_DIR: &str = "processing";
/// Files whose job ended well.
pub(crate) const DONE_DIR: &str = "done";
/// Files whose job failed, was cancelled, or was interrupted for good.
pub(crate) const FAILED_DIR: &str = "failed";
/// The suffix of the result file written beside a finished trigger file.
pub(crate) const RESULT_SUFFIX: &str = ".result.json";

/// One rule: file names matching `matcher` in a directory fire trigger `name`.
#[derive(Debug, Clone)]
pub(crate) struct FileRule {
    pub(crate) name: String,
    matchers: Vec<GlobMatcher>,
    /// The trigger's own prompt template; `None`: `monitoring.prompt` or the
    /// built-in one.
    pub(crate) prompt: Option<String>,
    pub(crate) mode: Option<ExecutionMode>,
    pub(crate) workspace: Option<PathBuf>,
    pub(crate) priority: i64,
    pub(crate) dedup_window: Duration,
    poll: Option<Duration>,
    /// Whether this rule is a named `triggers:` entry (named rules win).
    named: bool,
}

impl FileRule {
    /// Whether the file name `name` fires this rule.
    pub(crate) fn matches(&self, name: &OsStr) -> bool {
        self.matchers.iter().any(|m| m.is_match(Path::new(name)))
    }
}

/// One watched directory and its rules.
#[derive(Debug, Clone)]
pub(crate) struct WatchedDir {
    /// Canonical (symlinks resolved), so event paths compare exactly.
    pub(crate) dir: PathBuf,
    /// Named rules first (config order), then the monitoring rule.
    pub(crate) rules: Vec<FileRule>,
    /// Poll every this long instead of waiting for events (the shortest
    /// interval any rule for this directory asks for).
    pub(crate) poll: Option<Duration>,
}

impl WatchedDir {
    /// The rule that `name` fires, if any (ignored names fire nothing).
    pub(crate) fn rule_for(&self, name: &OsStr) -> Option<&FileRule> {
        if is_ignored_name(name) {
            return None;
        }
        self.rules.iter().find(|rule| rule.matches(name))
    }
}

/// Everything the file watchers need from the config, checked.
#[derive(Debug, Clone)]
pub(crate) struct FilePlan {
    pub(crate) dirs: Vec<WatchedDir>,
    /// A file whose identity is unchanged this long is ready.
    pub(crate) settle: Duration,
    /// How many bytes of a trigger file go into its payload.
    pub(crate) max_content: u64,
    /// `monitoring.prompt`.
    pub(crate) monitoring_prompt: Option<String>,
}

impl FilePlan {
    /// Builds and checks the plan. Fails closed, naming the trigger: a watched
    /// directory that does not exist, a path glob with wildcards in its
    /// directory part, a name pattern with no directory to apply it in.
    pub(crate) fn from_config(config: &Config) -> Result<FilePlan, DaemonError> {
        let monitoring = &config.monitoring;
        let mut dirs: BTreeMap<PathBuf, WatchedDir> = BTreeMap::new();
        let mut order: Vec<PathBuf> = Vec::new();
        let mut add = |dir: PathBuf, rule: FileRule| {
            let entry = dirs.entry(dir.clone()).or_insert_with(|| {
                order.push(dir.clone());
                WatchedDir {
                    dir,
                    rules: Vec::new(),
                    poll: None,
                }
            });
            entry.poll = match (entry.poll, rule.poll) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            entry.rules.push(rule);
        };
        for trigger in config
            .triggers
            .iter()
            .filter(|t| t.kind == TriggerKind::File)
        {
            for (dir, rule) in named_rules(trigger, &monitoring.watch_directories)? {
                add(dir, rule);
            }
        }
        if !monitoring.watch_patterns.is_empty() {
            let matchers = monitoring
                .watch_patterns
                .iter()
                .map(|p| name_matcher(MONITORING_TRIGGER, p))
                .collect::<Result<Vec<_>, _>>()?;
            for dir in &monitoring.watch_directories {
                let rule = FileRule {
                    name: MONITORING_TRIGGER.to_owned(),
                    matchers: matchers.clone(),
                    prompt: None,
                    mode: None,
                    workspace: None,
                    priority: 0,
                    dedup_window: Duration::ZERO,
                    poll: monitoring.poll_interval_s.map(Duration::from_secs),
                    named: false,
                };
                add(canonical_dir(MONITORING_TRIGGER, dir)?, rule);
            }
        }
        let mut ordered = Vec::with_capacity(order.len());
        for dir in order {
            if let Some(mut watched) = dirs.remove(&dir) {
                // Stable: named rules keep their config order.
                watched.rules.sort_by_key(|rule| !rule.named);
                ordered.push(watched);
            }
        }
        Ok(FilePlan {
            dirs: ordered,
            settle: Duration::from_millis(monitoring.settle_ms),
            max_content: monitoring.max_content_kb.saturating_mul(1024),
            monitoring_prompt: monitoring.prompt.clone(),
        })
    }
}

/// The rules of one `triggers:` entry of kind `file`, with their directories.
fn named_rules(
    trigger: &TriggerConfig,
    watch_directories: &[PathBuf],
) -> Result<Vec<(PathBuf, FileRule)>, DaemonError> {
    let problem = |problem: String| DaemonError::Trigger {
        name: trigger.name.clone(),
        problem,
    };
    let Some(pattern) = trigger.pattern.as_deref() else {
        return Err(problem("a file trigger needs a pattern".to_owned()));
    };
    let rule = |name_glob: &str| -> Result<FileRule, DaemonError> {
        Ok(FileRule {
            name: trigger.name.clone(),
            matchers: vec![name_matcher(&trigger.name, name_glob)?],
            prompt: trigger.prompt.clone(),
            mode: trigger.mode,
            workspace: trigger.workspace.clone(),
            priority: i64::from(trigger.priority),
            dedup_window: Duration::from_secs(trigger.dedup_window_s),
            poll: trigger.poll_interval_s.map(Duration::from_secs),
            named: true,
        })
    };
    if pattern.contains('/') {
        let path = Path::new(pattern);
        let (Some(parent), Some(name_glob)) = (path.parent(), path.file_name()) else {
            return Err(problem(format!(
                "pattern {pattern:?} does not end in a file-name glob"
            )));
        };
        let parent_text = parent.to_string_lossy();
        if parent_text.contains(['*', '?', '[', ']', '{', '}']) {
            return Err(problem(format!(
                "pattern {pattern:?}: only the file-name part may contain wildcards \
                 (leash watches one directory per pattern, not a tree)"
            )));
        }
        let dir = canonical_dir(&trigger.name, parent)?;
        return Ok(vec![(dir, rule(&name_glob.to_string_lossy())?)]);
    }
    if watch_directories.is_empty() {
        return Err(problem(format!(
            "pattern {pattern:?} is a file-name glob for monitoring.watch_directories, \
             but none are configured (or give a path glob such as /dir/{pattern})"
        )));
    }
    watch_directories
        .iter()
        .map(|dir| Ok((canonical_dir(&trigger.name, dir)?, rule(pattern)?)))
        .collect()
}

/// A glob over file names (`*` never crosses `/`).
fn name_matcher(trigger: &str, pattern: &str) -> Result<GlobMatcher, DaemonError> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|glob| glob.compile_matcher())
        .map_err(|err| DaemonError::Trigger {
            name: trigger.to_owned(),
            problem: format!("invalid glob {pattern:?}: {}", err.kind()),
        })
}

/// The watched directory, canonical. It must exist and be a directory, and it
/// must not be inside a `.leash` directory (leash's own files never trigger).
fn canonical_dir(trigger: &str, dir: &Path) -> Result<PathBuf, DaemonError> {
    let problem = |problem: String| DaemonError::Trigger {
        name: trigger.to_owned(),
        problem,
    };
    let canonical = dir.canonicalize().map_err(|err| {
        problem(format!(
            "watch directory {}: {err} (create it, or remove it from the config)",
            dir.display()
        ))
    })?;
    if !canonical.is_dir() {
        return Err(problem(format!(
            "watch directory {} is not a directory",
            dir.display()
        )));
    }
    if canonical
        .components()
        .any(|c| c.as_os_str() == OsStr::new(LEASH_DIR))
    {
        return Err(problem(format!(
            "watch directory {} is inside leash's own {LEASH_DIR} directory",
            dir.display()
        )));
    }
    Ok(canonical)
}

/// Names that are never triggers: dotfiles (leash's `.leash`, editors' and
/// downloaders' hidden temp files), temp files being written (`~`, `.tmp`,
/// `.part`, `.partial`, `.crdownload`, `.swp`, `#…#`) and leash's result files.
pub(crate) fn is_ignored_name(name: &OsStr) -> bool {
    let text = name.to_string_lossy();
    const TEMP_SUFFIXES: &[&str] = &[
        "~",
        ".tmp",
        ".part",
        ".partial",
        ".crdownload",
        ".swp",
        RESULT_SUFFIX,
    ];
    text.starts_with('.')
        || (text.starts_with('#') && text.ends_with('#'))
        || TEMP_SUFFIXES.iter().any(|suffix| text.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::plain("deploy.flag", false)]
    #[case::dotfile(".deploy.flag", true)]
    #[case::leash_dir(".leash", true)]
    #[case::editor_backup("deploy.flag~", true)]
    #[case::tmp("deploy.flag.tmp", true)]
    #[case::partial_download("x.task.part", true)]
    #[case::chrome_download("x.task.crdownload", true)]
    #[case::emacs_autosave("#x.task#", true)]
    #[case::result_file("x.task.result.json", true)]
    #[case::json_is_fine("x.json", false)]
    fn ignored_names(#[case] name: &str, #[case] ignored: bool) {
        assert_eq!(is_ignored_name(OsStr::new(name)), ignored);
    }

    #[test]
    fn name_globs_do_not_cross_directories() {
        let m = name_matcher("t", "*.task").unwrap();
        assert!(m.is_match("a.task"));
        assert!(!m.is_match("a/b.task"));
    }
}
