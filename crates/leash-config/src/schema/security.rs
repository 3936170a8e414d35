//! `security:` the policy's lists, path roots, resource limits and required
//! sandbox layers.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::mode::ExecutionMode;
use crate::paths::LeashPaths;
use crate::reader::{PathRule, Reader};
use crate::schema::security_hardening::{DEFAULT_PROTECTED, Hardening};
use crate::yaml_enum::YamlEnum;
use crate::yaml_tree::Node;

/// A sandbox layer that `security.sandbox.require` can demand. Closed: the
/// sandbox reports each of these as available or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxLayerName {
    /// `PR_SET_NO_NEW_PRIVS`: no setuid escalation.
    NoNewPrivs,
    /// CPU, memory, file size, open files, processes.
    Rlimits,
    /// A new process group, killed whole on timeout.
    ProcessGroup,
    /// The fixed, scrubbed environment.
    EnvScrub,
    /// Landlock file-system (and TCP) restrictions.
    Landlock,
    /// The seccomp system-call filter.
    Seccomp,
    /// A cgroup v2 per command, killed whole with `cgroup.kill`.
    Cgroup,
}

impl SandboxLayerName {
    /// The spelling in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxLayerName::NoNewPrivs => "no_new_privs",
            SandboxLayerName::Rlimits => "rlimits",
            SandboxLayerName::ProcessGroup => "process_group",
            SandboxLayerName::EnvScrub => "env_scrub",
            SandboxLayerName::Landlock => "landlock",
            SandboxLayerName::Seccomp => "seccomp",
            SandboxLayerName::Cgroup => "cgroup",
        }
    }
}

impl YamlEnum for SandboxLayerName {
    const WHAT: &'static str = "sandbox layer";
    const ALL: &'static [Self] = &[
        SandboxLayerName::NoNewPrivs,
        SandboxLayerName::Rlimits,
        SandboxLayerName::ProcessGroup,
        SandboxLayerName::EnvScrub,
        SandboxLayerName::Landlock,
        SandboxLayerName::Seccomp,
        SandboxLayerName::Cgroup,
    ];
    fn yaml_name(&self) -> &'static str {
        self.as_str()
    }
}

/// `security:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Default `prompt`.
    pub execution_mode: ExecutionMode,
    /// Programs that may run at all (argv patterns). `None`: the policy's
    /// built-in default list; `Some(vec![])`: nothing may run.
    pub whitelist: Option<Vec<String>>,
    /// Argv patterns never allowed, not even with approval.
    pub blacklist: Vec<String>,
    /// Argv patterns that always need approval.
    pub require_approval_for: Vec<String>,
    /// Default read+write root and cwd of commands. `None`: the directory the
    /// command was started from (`leash ask`/`exec`); triggers may set their own.
    pub workspace: Option<PathBuf>,
    /// Extra path roots.
    pub paths: PathRules,
    /// Whether commands may reach the network. Default false.
    pub network: bool,
    /// Resource limits per command.
    pub limits: Limits,
    /// Sandbox layers that must be available, else nothing runs.
    pub sandbox: SandboxConfig,
    /// The fixed PATH `argv[0]` is resolved through; absolute directories only.
    /// Empty: the platform default.
    pub search_path: Vec<PathBuf>,
    /// Extra rule files (same format as the built-in rules).
    pub rules: Vec<PathBuf>,
    /// Rules learned from approvals. `None`: `learned-rules.yaml` in the config
    /// dir, see [`SecurityConfig::learned_rules_path`].
    pub learned_rules: Option<PathBuf>,
    /// The user commands run as when leash runs as root (name or numeric
    /// uid); see `security_hardening`. `None` as root: nothing runs.
    pub run_as: Option<String>,
    /// Files that make programs run code later, reverted when a command
    /// changes them without approval. `None`: [`DEFAULT_PROTECTED`].
    pub protected: Option<Vec<String>>,
}

/// `security.paths:` extra roots besides the workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PathRules {
    /// Extra readable roots.
    pub read: Vec<PathBuf>,
    /// Extra writable roots (also readable).
    pub write: Vec<PathBuf>,
    /// Never read or written, on top of the built-in denials (`~/.ssh`, ...).
    pub deny: Vec<PathBuf>,
    /// Re-allowed although a built-in denial covers them (explicit opt-in).
    pub allow: Vec<PathBuf>,
}

/// `security.limits:` per command; every value must be greater than 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock seconds before the process group is killed. Default 60.
    pub timeout_s: u64,
    /// CPU seconds (RLIMIT_CPU). Default 60.
    pub cpu_s: u64,
    /// Address space in MiB (RLIMIT_AS). Default 512.
    pub memory_mb: u64,
    /// Largest file a command may write, in MiB (RLIMIT_FSIZE). Default 64.
    pub file_size_mb: u64,
    /// Captured stdout and stderr, each, in KiB; the rest is dropped. Default 256.
    pub max_output_kb: u64,
    /// Processes the command may add (NPROC, relative to current use). Default 32.
    pub max_processes: u64,
    /// CPU bandwidth of the command's cgroup (`cpu.max`) in percent of one
    /// CPU, where the cgroup layer has the `cpu` controller. Default 100.
    pub cpu_percent: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_s: 60,
            cpu_s: 60,
            memory_mb: 512,
            file_size_mb: 64,
            max_output_kb: 256,
            max_processes: 32,
            cpu_percent: 100,
        }
    }
}

/// `security.sandbox:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Layers without which nothing runs (e.g. `[landlock, seccomp]`).
    pub require: Vec<SandboxLayerName>,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            execution_mode: ExecutionMode::Prompt,
            whitelist: None,
            blacklist: Vec::new(),
            require_approval_for: Vec::new(),
            workspace: None,
            paths: PathRules::default(),
            network: false,
            limits: Limits::default(),
            sandbox: SandboxConfig::default(),
            search_path: Vec::new(),
            rules: Vec::new(),
            learned_rules: None,
            run_as: None,
            protected: None,
        }
    }
}

impl SecurityConfig {
    /// This section's keys: its struct's fields (see `schema::keys`).
    pub(crate) fn keys() -> &'static [&'static str] {
        super::keys::struct_keys::<Self>()
    }

    /// The learned-rules file: `learned_rules`, else `learned-rules.yaml` in the config dir.
    pub fn learned_rules_path(&self, paths: &LeashPaths) -> PathBuf {
        self.learned_rules
            .clone()
            .unwrap_or_else(|| paths.learned_rules_file())
    }

    pub(crate) fn read(r: &mut Reader<'_>, node: &Node, key: &str) -> Self {
        let mut s = SecurityConfig::default();
        let f = r.fields(node, key, Self::keys());
        r.field(
            &f,
            "execution_mode",
            &mut s.execution_mode,
            Reader::enumeration,
        );
        r.optional(&f, "whitelist", &mut s.whitelist, patterns);
        r.field(&f, "blacklist", &mut s.blacklist, patterns);
        r.field(
            &f,
            "require_approval_for",
            &mut s.require_approval_for,
            patterns,
        );
        r.optional(&f, "workspace", &mut s.workspace, |r, n, k| {
            r.path(n, k, PathRule::RelativeToConfig)
        });
        if let Some(n) = f.node("paths") {
            s.paths = PathRules::read(r, n, &f.key("paths"));
        }
        r.field(&f, "network", &mut s.network, Reader::boolean);
        if let Some(n) = f.node("limits") {
            s.limits = Limits::read(r, n, &f.key("limits"));
        }
        if let Some(n) = f.node("sandbox") {
            let sf = r.fields(
                n,
                &f.key("sandbox"),
                super::keys::struct_keys::<SandboxConfig>(),
            );
            r.field(&sf, "require", &mut s.sandbox.require, |r, n, k| {
                r.list(n, k, Reader::enumeration)
            });
        }
        r.field(&f, "search_path", &mut s.search_path, |r, n, k| {
            r.list(n, k, |r, n, k| r.path(n, k, PathRule::Absolute))
        });
        r.field(&f, "rules", &mut s.rules, |r, n, k| {
            r.list(n, k, |r, n, k| r.path(n, k, PathRule::RelativeToConfig))
        });
        r.optional(&f, "learned_rules", &mut s.learned_rules, |r, n, k| {
            r.path(n, k, PathRule::RelativeToConfig)
        });
        let hardening = Hardening::read(r, &f);
        s.run_as = hardening.run_as;
        s.protected = hardening.protected;
        s
    }

    /// The protected-file entries in force: `protected`, else the defaults.
    pub fn protected_entries(&self) -> Vec<String> {
        self.protected
            .clone()
            .unwrap_or_else(|| DEFAULT_PROTECTED.iter().map(|s| (*s).to_owned()).collect())
    }
}

impl PathRules {
    /// This section's keys: its struct's fields (see `schema::keys`).
    pub(crate) fn keys() -> &'static [&'static str] {
        super::keys::struct_keys::<Self>()
    }

    fn read(r: &mut Reader<'_>, node: &Node, key: &str) -> Self {
        let mut p = PathRules::default();
        let f = r.fields(node, key, Self::keys());
        for (name, slot) in [
            ("read", &mut p.read),
            ("write", &mut p.write),
            ("deny", &mut p.deny),
            ("allow", &mut p.allow),
        ] {
            r.field(&f, name, slot, |r, n, k| {
                r.list(n, k, |r, n, k| r.path(n, k, PathRule::RelativeToConfig))
            });
        }
        p
    }
}

impl Limits {
    /// This section's keys: its struct's fields (see `schema::keys`).
    pub(crate) fn keys() -> &'static [&'static str] {
        super::keys::struct_keys::<Self>()
    }

    fn read(r: &mut Reader<'_>, node: &Node, key: &str) -> Self {
        let mut l = Limits::default();
        let f = r.fields(node, key, Self::keys());
        for (name, slot) in [
            ("timeout_s", &mut l.timeout_s),
            ("cpu_s", &mut l.cpu_s),
            ("memory_mb", &mut l.memory_mb),
            ("file_size_mb", &mut l.file_size_mb),
            ("max_output_kb", &mut l.max_output_kb),
            ("max_processes", &mut l.max_processes),
            ("cpu_percent", &mut l.cpu_percent),
        ] {
            r.field(&f, name, slot, |r, n, k| r.integer(n, k, 1));
        }
        l
    }
}

/// A list of argv patterns (`"rm -rf"`, `"git push"`); each must be non-empty.
fn patterns(r: &mut Reader<'_>, node: &Node, key: &str) -> Option<Vec<String>> {
    r.list(node, key, Reader::nonempty_string)
}
