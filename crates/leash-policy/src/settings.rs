//! Everything a [`crate::Policy`] is built from. The engine fills this from the
//! user's config; tests build it directly.

use std::path::PathBuf;

use crate::VerdictOrigin;

/// An extra rules document (YAML, same format as the built-in rules file), with a
/// name used in load errors (usually its path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesSource {
    /// Named in every load error (usually the file's path).
    pub name: String,
    /// The YAML document.
    pub text: String,
    /// [`VerdictOrigin::Configured`] for `security.rules`,
    /// [`VerdictOrigin::Learned`] for the learned-rules file: verdicts its
    /// rules decide carry it.
    pub origin: VerdictOrigin,
}

impl RulesSource {
    /// A document the person configured (`security.rules`).
    pub fn configured(name: impl Into<String>, text: impl Into<String>) -> RulesSource {
        RulesSource {
            name: name.into(),
            text: text.into(),
            origin: VerdictOrigin::Configured,
        }
    }

    /// The learned-rules file (the person's "always"/"never" answers).
    pub fn learned(name: impl Into<String>, text: impl Into<String>) -> RulesSource {
        RulesSource {
            name: name.into(),
            text: text.into(),
            origin: VerdictOrigin::Learned,
        }
    }
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
    /// Termux's `$PREFIX` when leash runs on Termux: programs are then trusted
    /// only under its program roots (and the configured search path), never
    /// Android's (`/system/bin/sh`, `/usr/bin/...`).
    pub termux_prefix: Option<PathBuf>,
}

/// Where leash runs; decides the default search path and system read roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Platform {
    /// An ordinary Linux system (FHS layout).
    Linux,
    /// Android/Termux: programs live in `$PREFIX/bin`.
    Termux {
        /// `$PREFIX` (`/data/data/com.termux/files/usr`): Termux's own tree.
        prefix: PathBuf,
    },
}

impl Platform {
    /// Detects Termux from `$PREFIX` and `$TERMUX_VERSION` values (the caller
    /// passes the process's, so tests can inject any value), with the one
    /// detector all of leash uses ([`leash_system_paths::detect_termux`]).
    pub fn detect(
        prefix_var: Option<&std::ffi::OsStr>,
        termux_version_var: Option<&std::ffi::OsStr>,
    ) -> Platform {
        match leash_system_paths::detect_termux(prefix_var, termux_version_var) {
            Some(prefix) => Platform::Termux { prefix },
            None => Platform::Linux,
        }
    }

    /// The platform of this process (see [`Platform::detect`]).
    pub fn from_process_env() -> Platform {
        match leash_system_paths::termux_prefix() {
            Some(prefix) => Platform::Termux { prefix },
            None => Platform::Linux,
        }
    }

    /// Termux's `$PREFIX`, or `None` on Linux.
    pub fn termux_prefix(&self) -> Option<&std::path::Path> {
        match self {
            Platform::Linux => None,
            Platform::Termux { prefix } => Some(prefix),
        }
    }

    /// The fixed program search path of this platform.
    pub fn default_search_path(&self) -> Vec<PathBuf> {
        leash_system_paths::default_search_path(self.termux_prefix())
    }
}

impl PolicySettings {
    /// Defaults for the current platform (Termux detected through `$PREFIX`):
    /// the default whitelist, the platform search path, empty extra lists and
    /// `network: false`.
    pub fn new(workspace: PathBuf, home: PathBuf) -> PolicySettings {
        let platform = Platform::from_process_env();
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
            termux_prefix: platform.termux_prefix().map(PathBuf::from),
        }
    }
}
