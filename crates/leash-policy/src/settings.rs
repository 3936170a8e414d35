//! Everything a [`crate::Policy`] is built from. The engine fills this from the
//! user's config; tests build it directly.

use std::path::PathBuf;

/// An extra rules document (YAML, same format as the built-in rules file), with a
/// name used in load errors (usually its path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesSource {
    pub name: String,
    pub text: String,
}

/// Inputs of the policy. See docs/DESIGN.md "Policy".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySettings {
    /// Seed `security.whitelist`: argv patterns of programs that may run at all.
    pub whitelist: Vec<String>,
    /// Seed `security.blacklist`: argv patterns that are always denied.
    pub blacklist: Vec<String>,
    /// Seed `security.require_approval_for`: argv patterns that ask.
    pub require_approval_for: Vec<String>,
    /// The fixed PATH `argv[0]` is resolved through (never the caller's `$PATH`).
    pub search_path: Vec<PathBuf>,
    /// The job's workspace: the cwd of commands, readable and writable.
    pub workspace: PathBuf,
    /// The user's home, for the default denied paths (`~/.ssh`, ...).
    pub home: PathBuf,
    /// Extra readable roots (the workspace and write roots are always readable).
    pub read_roots: Vec<PathBuf>,
    /// Extra writable roots besides the workspace.
    pub write_roots: Vec<PathBuf>,
    /// Extra paths that are never read or written.
    pub deny_paths: Vec<PathBuf>,
    /// Paths re-allowed although a default deny covers them (explicit opt-in).
    pub allow_paths: Vec<PathBuf>,
    /// leash's own config file, state dir, token file, learned-rules file: always denied.
    pub protected_paths: Vec<PathBuf>,
    /// `security.network`: whether commands may reach the network.
    pub network: bool,
    /// Extra rule documents (config `security.rules`, the learned-rules file).
    pub extra_rules: Vec<RulesSource>,
}

/// Where leash runs; decides the default search path and system read roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Platform {
    /// An ordinary Linux system (FHS layout).
    Linux,
    /// Android/Termux: programs live in `$PREFIX/bin`.
    Termux { prefix: PathBuf },
}

impl Platform {
    /// Detects Termux from a `$PREFIX` value (the caller passes
    /// `std::env::var_os("PREFIX")`, so tests can inject any value).
    pub fn detect(prefix_var: Option<&std::ffi::OsStr>) -> Platform {
        match prefix_var {
            Some(prefix) if prefix.to_string_lossy().contains("com.termux") => Platform::Termux {
                prefix: PathBuf::from(prefix),
            },
            Some(_) | None => Platform::Linux,
        }
    }

    /// The fixed program search path of this platform.
    pub fn default_search_path(&self) -> Vec<PathBuf> {
        match self {
            Platform::Linux => [
                "/usr/local/sbin",
                "/usr/local/bin",
                "/usr/sbin",
                "/usr/bin",
                "/sbin",
                "/bin",
            ]
            .iter()
            .map(PathBuf::from)
            .collect(),
            Platform::Termux { prefix } => vec![prefix.join("bin")],
        }
    }
}

impl PolicySettings {
    /// Defaults for the current platform (Termux detected through `$PREFIX`):
    /// the default whitelist, the platform search path, empty extra lists and
    /// `network: false`.
    pub fn new(workspace: PathBuf, home: PathBuf) -> PolicySettings {
        let platform = Platform::detect(std::env::var_os("PREFIX").as_deref());
        PolicySettings::for_platform(workspace, home, &platform)
    }

    /// Defaults for an explicitly given platform (used by tests and by callers
    /// that already know where they run).
    pub fn for_platform(workspace: PathBuf, home: PathBuf, platform: &Platform) -> PolicySettings {
        PolicySettings {
            whitelist: crate::defaults::default_whitelist(),
            blacklist: Vec::new(),
            require_approval_for: Vec::new(),
            search_path: platform.default_search_path(),
            workspace,
            home,
            read_roots: Vec::new(),
            write_roots: Vec::new(),
            deny_paths: Vec::new(),
            allow_paths: Vec::new(),
            protected_paths: Vec::new(),
            network: false,
            extra_rules: Vec::new(),
        }
    }
}
