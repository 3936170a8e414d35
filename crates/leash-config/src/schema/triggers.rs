//! `triggers:` named events that become jobs: files appearing, a schedule, new
//! commits in a git repository.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::mode::ExecutionMode;
use crate::reader::{Fields, PathRule, Reader};
use crate::yaml_enum::YamlEnum;
use crate::yaml_tree::Node;

/// What fires a trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TriggerKind {
    /// A file matching `pattern` appears or changes.
    File,
    /// A cron expression (`cron`) comes due.
    Schedule,
    /// New commits in `repo` (on `branch`).
    Git,
    /// A read-only `command` run every `poll_interval_s` whose output changed
    /// (or matches `match`).
    Watch,
}

impl TriggerKind {
    /// The spelling in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::File => "file",
            TriggerKind::Schedule => "schedule",
            TriggerKind::Git => "git",
            TriggerKind::Watch => "watch",
        }
    }
}

impl YamlEnum for TriggerKind {
    const WHAT: &'static str = "trigger kind";
    const ALL: &'static [Self] = &[
        TriggerKind::File,
        TriggerKind::Schedule,
        TriggerKind::Git,
        TriggerKind::Watch,
    ];
    fn yaml_name(&self) -> &'static str {
        self.as_str()
    }
}

/// What a schedule trigger does about runs it missed while the daemon was down.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum MissedRun {
    /// Forget them; wait for the next due time.
    #[default]
    Skip,
    /// Run once at start-up if at least one run was missed.
    RunOnce,
}

impl YamlEnum for MissedRun {
    const WHAT: &'static str = "missed-run policy";
    const ALL: &'static [Self] = &[MissedRun::Skip, MissedRun::RunOnce];
    fn yaml_name(&self) -> &'static str {
        match self {
            MissedRun::Skip => "skip",
            MissedRun::RunOnce => "run_once",
        }
    }
}

/// One entry of `triggers:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerConfig {
    /// Unique; letters, digits, `-`, `_`, `.`.
    pub name: String,
    /// Required.
    pub kind: TriggerKind,
    /// `file`, required: a glob. Without `/` it matches file names inside
    /// `monitoring.watch_directories`; with `/` it is a path glob (`~`/`$VAR`
    /// expanded, relative to the config file's directory).
    #[serde(default)]
    pub pattern: Option<String>,
    /// `schedule`, required: a cron expression (5 or 6 fields, or `@daily` etc.).
    #[serde(default)]
    pub cron: Option<String>,
    /// `git`, required: the repository's directory.
    #[serde(default)]
    pub repo: Option<PathBuf>,
    /// `git`: the branch to follow. `None`: the repository's current branch.
    #[serde(default)]
    pub branch: Option<String>,
    /// What the model is asked; the event's details are appended. Required for
    /// `schedule` (nothing else would say what to do).
    #[serde(default)]
    pub prompt: Option<String>,
    /// Execution mode for this trigger's jobs. `None`: `security.execution_mode`.
    #[serde(default)]
    pub mode: Option<ExecutionMode>,
    /// Workspace for this trigger's jobs. `None`: `security.workspace`.
    #[serde(default)]
    pub workspace: Option<PathBuf>,
    /// `file` and `git`: poll every N seconds instead of waiting for events.
    #[serde(default)]
    pub poll_interval_s: Option<u64>,
    /// Queue priority of this trigger's jobs: higher runs first. Default 0.
    #[serde(default)]
    pub priority: u32,
    /// Jobs of this trigger start even on a low battery that is not charging
    /// (`device.min_battery_pct`); others wait. Default false.
    #[serde(default)]
    pub urgent: bool,
    /// Seconds during which a second event for the same thing (same file
    /// identity, same commit, same due time) is not queued again. Default 0:
    /// only while the first job is still pending.
    #[serde(default)]
    pub dedup_window_s: u64,
    /// `schedule`: what to do about runs missed while the daemon was down.
    #[serde(default)]
    pub missed: MissedRun,
    /// `schedule`: a random delay of up to this many seconds before each run.
    #[serde(default)]
    pub jitter_s: u64,
    /// `schedule`: the IANA time zone the cron expression is read in. `None`:
    /// the system's.
    #[serde(default)]
    pub timezone: Option<String>,
    /// `watch`, required: the command (argv) whose output is watched; judged
    /// by the policy and sandboxed like any command, and run only when the
    /// policy allows it outright (nobody is there to approve).
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// `watch`: a regular expression; when set, a changed output fires only
    /// if it matches.
    #[serde(default, rename = "match")]
    pub match_pattern: Option<String>,
    /// `watch`: seconds after a job during which further changes wait (rate
    /// limit). `None`: no wait.
    #[serde(default)]
    pub cooldown_s: Option<u64>,
    /// The skill this trigger's jobs go through (`skill: organize`). `None`:
    /// the open agent loop.
    #[serde(default)]
    pub skill: Option<String>,
    /// The named model (a key of `models:`) this trigger's jobs use.
    #[serde(default)]
    pub model: Option<String>,
    /// Another device of the fleet that runs this trigger's jobs (`on:
    /// laptop`): the job is queued here as usual, then handed over through
    /// the fleet, where it runs under that device's own config and policy.
    /// Needs `fleet:`.
    #[serde(default)]
    pub on: Option<String>,
}

/// Read the `triggers:` list and check that names are unique.
pub(crate) fn read_triggers(r: &mut Reader<'_>, node: &Node, key: &str) -> Vec<TriggerConfig> {
    let mut seen: Vec<(String, String)> = Vec::new();
    let Some(items) = r.list(node, key, |r, n, k| {
        let trigger = read_trigger(r, n, k)?;
        Some((trigger, k.to_string(), n.origin.clone()))
    }) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    for (trigger, item_key, origin) in items {
        if let Some((_, first)) = seen.iter().find(|(name, _)| *name == trigger.name) {
            r.error(
                &origin,
                &format!("{item_key}.name"),
                format!("duplicate trigger name {:?} (also {first})", trigger.name),
            );
        } else {
            seen.push((trigger.name.clone(), item_key));
        }
        out.push(trigger);
    }
    out
}

fn read_trigger(r: &mut Reader<'_>, node: &Node, key: &str) -> Option<TriggerConfig> {
    let f = r.fields(node, key, super::keys::struct_keys::<TriggerConfig>());
    let name = required(r, &f, "name", read_name);
    let kind = required(r, &f, "kind", Reader::enumeration::<TriggerKind>);
    let mut t = TriggerConfig {
        name: name.clone().unwrap_or_default(),
        kind: kind.unwrap_or(TriggerKind::File),
        pattern: None,
        cron: None,
        repo: None,
        branch: None,
        prompt: None,
        mode: None,
        workspace: None,
        poll_interval_s: None,
        priority: 0,
        urgent: false,
        dedup_window_s: 0,
        missed: MissedRun::Skip,
        jitter_s: 0,
        timezone: None,
        command: None,
        match_pattern: None,
        cooldown_s: None,
        skill: None,
        model: None,
        on: None,
    };
    r.optional(&f, "pattern", &mut t.pattern, read_pattern);
    r.optional(&f, "cron", &mut t.cron, read_cron);
    r.optional(&f, "repo", &mut t.repo, |r, n, k| {
        r.path(n, k, PathRule::RelativeToConfig)
    });
    r.optional(&f, "branch", &mut t.branch, Reader::nonempty_string);
    r.optional(&f, "prompt", &mut t.prompt, Reader::nonempty_string);
    r.optional(&f, "mode", &mut t.mode, Reader::enumeration);
    r.optional(&f, "workspace", &mut t.workspace, |r, n, k| {
        r.path(n, k, PathRule::RelativeToConfig)
    });
    r.optional(&f, "poll_interval_s", &mut t.poll_interval_s, |r, n, k| {
        r.integer(n, k, 1)
    });
    r.field(&f, "urgent", &mut t.urgent, Reader::boolean);
    r.field(&f, "priority", &mut t.priority, |r, n, k| {
        r.integer32(n, k, 0)
    });
    r.field(&f, "dedup_window_s", &mut t.dedup_window_s, |r, n, k| {
        r.integer(n, k, 0)
    });
    r.field(&f, "missed", &mut t.missed, Reader::enumeration);
    r.field(&f, "jitter_s", &mut t.jitter_s, |r, n, k| {
        r.integer(n, k, 0)
    });
    r.optional(&f, "timezone", &mut t.timezone, read_timezone);
    r.optional(&f, "command", &mut t.command, read_command);
    r.optional(&f, "match", &mut t.match_pattern, read_regex);
    r.optional(&f, "cooldown_s", &mut t.cooldown_s, |r, n, k| {
        r.integer(n, k, 0)
    });
    r.optional(&f, "skill", &mut t.skill, Reader::nonempty_string);
    r.optional(&f, "model", &mut t.model, Reader::nonempty_string);
    r.optional(&f, "on", &mut t.on, |r, n, k| {
        let name = r.nonempty_string(n, k)?;
        crate::schema::fleet::check_device_name(r, n, k, &name).then_some(name)
    });
    let kind = kind?;
    check_kind_keys(r, &f, kind);
    name?;
    Some(t)
}

fn required<'r, T>(
    r: &mut Reader<'r>,
    f: &Fields<'_>,
    name: &str,
    read: impl FnOnce(&mut Reader<'r>, &Node, &str) -> Option<T>,
) -> Option<T> {
    match f.node(name) {
        Some(node) => read(r, node, &f.key(name)),
        None => {
            r.error(f.origin(), &f.key(name), "required");
            None
        }
    }
}

/// Which keys each kind needs and which it does not understand.
fn check_kind_keys(r: &mut Reader<'_>, f: &Fields<'_>, kind: TriggerKind) {
    let (needed, foreign): (&[&str], &[&str]) = match kind {
        TriggerKind::File => (
            &["pattern"],
            &[
                "cron",
                "repo",
                "branch",
                "timezone",
                "command",
                "match",
                "cooldown_s",
            ],
        ),
        TriggerKind::Schedule => (
            &["cron", "prompt"],
            &[
                "pattern",
                "repo",
                "branch",
                "poll_interval_s",
                "command",
                "match",
                "cooldown_s",
            ],
        ),
        TriggerKind::Git => (
            &["repo"],
            &[
                "pattern",
                "cron",
                "timezone",
                "command",
                "match",
                "cooldown_s",
            ],
        ),
        TriggerKind::Watch => (
            &["command", "prompt", "poll_interval_s"],
            &["pattern", "cron", "repo", "branch", "timezone"],
        ),
    };
    for name in needed {
        if f.node(name).is_none_or(Node::is_null) {
            r.error(
                f.origin(),
                &f.key(name),
                format!("required for kind {}", kind.as_str()),
            );
        }
    }
    for name in foreign {
        if let Some(node) = f.node(name).filter(|n| !n.is_null()) {
            r.error(
                &node.origin,
                &f.key(name),
                format!("not used by kind {}", kind.as_str()),
            );
        }
    }
}

/// A non-empty argv of non-empty strings.
fn read_command(r: &mut Reader<'_>, node: &Node, key: &str) -> Option<Vec<String>> {
    let argv = r.list(node, key, Reader::nonempty_string)?;
    if argv.is_empty() {
        r.error(
            &node.origin,
            key,
            "an argv list such as [termux-battery-status] or [df, -h, /]",
        );
        return None;
    }
    Some(argv)
}

/// A regular expression that compiles.
fn read_regex(r: &mut Reader<'_>, node: &Node, key: &str) -> Option<String> {
    let text = r.nonempty_string(node, key)?;
    match regex::Regex::new(&text) {
        Ok(_) => Some(text),
        Err(err) => {
            r.error(
                &node.origin,
                key,
                format!("not a regular expression: {err}"),
            );
            None
        }
    }
}

/// An IANA time zone name that this system's time zone database knows.
fn read_timezone(r: &mut Reader<'_>, node: &Node, key: &str) -> Option<String> {
    let name = r.nonempty_string(node, key)?;
    match jiff::tz::TimeZone::get(&name) {
        Ok(_) => Some(name),
        Err(err) => {
            r.error(
                &node.origin,
                key,
                format!("unknown time zone {name:?} (an IANA name such as Europe/Berlin): {err}"),
            );
            None
        }
    }
}

fn read_name(r: &mut Reader<'_>, node: &Node, key: &str) -> Option<String> {
    let name = r.nonempty_string(node, key)?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        r.error(
            &node.origin,
            key,
            format!("{name:?}: use letters, digits, '-', '_' and '.' only"),
        );
        return None;
    }
    Some(name)
}

fn read_pattern(r: &mut Reader<'_>, node: &Node, key: &str) -> Option<String> {
    let text = r.nonempty_string(node, key)?;
    let pattern = if text.contains('/') {
        r.path(node, key, PathRule::RelativeToConfig)?
            .to_string_lossy()
            .into_owned()
    } else {
        text
    };
    match globset::Glob::new(&pattern) {
        Ok(_) => Some(pattern),
        Err(e) => {
            r.error(
                &node.origin,
                key,
                format!("invalid glob pattern {pattern:?}: {}", e.kind()),
            );
            None
        }
    }
}

/// A shape check only (field count and characters); the scheduler parses the
/// expression fully when it loads the trigger.
fn read_cron(r: &mut Reader<'_>, node: &Node, key: &str) -> Option<String> {
    let text = r.nonempty_string(node, key)?;
    const NICKNAMES: &[&str] = &[
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    if text.starts_with('@') {
        if NICKNAMES.contains(&text.as_str()) {
            return Some(text);
        }
        r.error(
            &node.origin,
            key,
            format!(
                "unknown cron nickname {text:?}; expected one of: {}",
                NICKNAMES.join(", ")
            ),
        );
        return None;
    }
    let fields: Vec<&str> = text.split_whitespace().collect();
    let chars_ok = fields.iter().all(|f| {
        f.chars()
            .all(|c| c.is_ascii_alphanumeric() || "*/,-?#".contains(c))
    });
    if !(5..=6).contains(&fields.len()) || !chars_ok {
        r.error(&node.origin, key, format!("invalid cron expression {text:?}: expected 5 fields (minute hour day month weekday), optionally with seconds first"));
        return None;
    }
    Some(text)
}
