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

/// Inputs of the policy. See DESIGN.md "Policy semantics".
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
