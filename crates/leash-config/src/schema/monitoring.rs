//! `monitoring:` the seed's directory watcher (an implicit file trigger).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::reader::{PathRule, Reader};
use crate::yaml_tree::Node;

/// `monitoring:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitoringConfig {
    /// Directories watched for trigger files.
    pub watch_directories: Vec<PathBuf>,
    /// File-name globs that make a trigger (`*.flag`).
    pub watch_patterns: Vec<String>,
    /// Poll every N seconds instead of relying on file-system events (needed on
    /// FUSE storage such as /sdcard). `None`: events where they work.
    pub poll_interval_s: Option<u64>,
    /// What the model is asked when a watched file arrives (`{path}`, `{name}`,
    /// `{content}` are filled in). `None`: a built-in instruction.
    pub prompt: Option<String>,
    /// How much of a trigger file's content (KiB) goes into `{content}`.
    pub max_content_kb: u64,
    /// A file whose size has not changed for this long (ms) is ready even
    /// without a close-write event (poll mode, slow writers).
    pub settle_ms: u64,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        MonitoringConfig {
            watch_directories: Vec::new(),
            watch_patterns: Vec::new(),
            poll_interval_s: None,
            prompt: None,
            max_content_kb: 16,
            settle_ms: 500,
        }
    }
}

impl MonitoringConfig {
    /// This section's keys: its struct's fields (see `schema::keys`).
    pub(crate) fn keys() -> &'static [&'static str] {
        super::keys::struct_keys::<Self>()
    }

    pub(crate) fn read(r: &mut Reader<'_>, node: &Node, key: &str) -> Self {
        let mut m = MonitoringConfig::default();
        let f = r.fields(node, key, Self::keys());
        r.field(
            &f,
            "watch_directories",
            &mut m.watch_directories,
            |r, n, k| r.list(n, k, |r, n, k| r.path(n, k, PathRule::RelativeToConfig)),
        );
        r.field(&f, "watch_patterns", &mut m.watch_patterns, |r, n, k| {
            r.list(n, k, Reader::glob)
        });
        r.optional(&f, "poll_interval_s", &mut m.poll_interval_s, |r, n, k| {
            r.integer(n, k, 1)
        });
        r.optional(&f, "prompt", &mut m.prompt, Reader::nonempty_string);
        r.field(&f, "max_content_kb", &mut m.max_content_kb, |r, n, k| {
            r.integer(n, k, 0)
        });
        r.field(&f, "settle_ms", &mut m.settle_ms, |r, n, k| {
            r.integer(n, k, 0)
        });
        m
    }
}
