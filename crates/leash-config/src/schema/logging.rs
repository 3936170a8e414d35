//! `logging:` the daemon's log and the audit log's JSONL mirror.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::reader::{PathRule, Reader};
use crate::yaml_enum::YamlEnum;
use crate::yaml_tree::Node;

/// Log verbosity. Case-insensitive in YAML (the seed writes `INFO`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Everything, llama.cpp's own log lines included.
    Trace,
    /// Each step and decision of a job.
    Debug,
    /// What leash does (default).
    #[default]
    Info,
    /// Only what may need a person's attention.
    Warn,
    /// Only failures.
    Error,
}

impl LogLevel {
    /// The spelling in YAML and the `tracing` filter directive.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

impl YamlEnum for LogLevel {
    const WHAT: &'static str = "log level";
    const ALL: &'static [Self] = &[
        LogLevel::Trace,
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Error,
    ];
    const CASE_INSENSITIVE: bool = true;
    fn yaml_name(&self) -> &'static str {
        self.as_str()
    }
}

/// When audit records reach the disk.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// fsync after every record: nothing acknowledged is ever lost (default).
    #[default]
    Fsync,
    /// fsync in batches: faster; a crash may lose the last unsynced records,
    /// never the chain's integrity.
    Batched,
}

impl Durability {
    /// The spelling in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Fsync => "fsync",
            Durability::Batched => "batched",
        }
    }
}

impl YamlEnum for Durability {
    const WHAT: &'static str = "audit durability";
    const ALL: &'static [Self] = &[Durability::Fsync, Durability::Batched];
    fn yaml_name(&self) -> &'static str {
        self.as_str()
    }
}

/// `logging:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// JSON-lines mirror of the audit log. `None`: the database only.
    pub audit_log: Option<PathBuf>,
    /// Default `info`; `RUST_LOG` overrides it.
    pub level: LogLevel,
    /// The daemon's log file. `None`: stderr.
    pub file: Option<PathBuf>,
    /// Default `fsync`.
    pub audit_durability: Durability,
    /// Rotate the JSONL mirror at this many MiB. Default 64.
    pub audit_rotate_mb: u64,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            audit_log: None,
            level: LogLevel::Info,
            file: None,
            audit_durability: Durability::Fsync,
            audit_rotate_mb: 64,
        }
    }
}

impl LoggingConfig {
    /// This section's keys: its struct's fields (see `schema::keys`).
    pub(crate) fn keys() -> &'static [&'static str] {
        super::keys::struct_keys::<Self>()
    }

    pub(crate) fn read(r: &mut Reader<'_>, node: &Node, key: &str) -> Self {
        let mut l = LoggingConfig::default();
        let f = r.fields(node, key, Self::keys());
        r.optional(&f, "audit_log", &mut l.audit_log, |r, n, k| {
            r.path(n, k, PathRule::RelativeToConfig)
        });
        r.field(&f, "level", &mut l.level, Reader::enumeration);
        r.optional(&f, "file", &mut l.file, |r, n, k| {
            r.path(n, k, PathRule::RelativeToConfig)
        });
        r.field(
            &f,
            "audit_durability",
            &mut l.audit_durability,
            Reader::enumeration,
        );
        r.field(&f, "audit_rotate_mb", &mut l.audit_rotate_mb, |r, n, k| {
            r.integer(n, k, 1)
        });
        l
    }
}
