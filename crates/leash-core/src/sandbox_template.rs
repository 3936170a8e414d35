//! The part of a sandbox spec that comes from the config and stays the same for
//! every command of a job: limits, roots, network, required layers, the child's
//! environment. [`SandboxTemplate::spec_for`] adds the one command.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use leash_config::{LoadedConfig, SandboxLayerName};
use leash_policy::ResolvedCommand;
use leash_sandbox::{Layer, Limits, SandboxSpec, TermuxEnv, scrubbed_env};
use serde_json::{Value, json};

use crate::run_as::RunAsDecision;

/// Config-derived sandbox settings for one workspace.
#[derive(Debug, Clone)]
pub struct SandboxTemplate {
    limits: Limits,
    write_roots: Vec<PathBuf>,
    read_roots: Vec<PathBuf>,
    network: bool,
    required: Vec<Layer>,
    env: Vec<(OsString, OsString)>,
    tmp_base: PathBuf,
    run_as: RunAsDecision,
}

/// The sandbox layer a config name stands for. Exhaustive on purpose: a new
/// name must be mapped here before it can be required.
pub(crate) fn layer_for(name: SandboxLayerName) -> Layer {
    match name {
        SandboxLayerName::NoNewPrivs => Layer::NoNewPrivs,
        SandboxLayerName::Rlimits => Layer::Rlimits,
        SandboxLayerName::ProcessGroup => Layer::ProcessGroup,
        SandboxLayerName::EnvScrub => Layer::EnvScrub,
        SandboxLayerName::Landlock => Layer::Landlock,
        SandboxLayerName::Seccomp => Layer::Seccomp,
        SandboxLayerName::Cgroup => Layer::Cgroup,
    }
}

impl SandboxTemplate {
    /// Builds the template for commands whose workspace is `workspace`, with
    /// `search_path` (the policy's fixed PATH) as the child's `PATH`.
    pub fn from_config(
        loaded: &LoadedConfig,
        workspace: &Path,
        search_path: &[PathBuf],
    ) -> SandboxTemplate {
        let security = &loaded.config.security;
        let limits = Limits {
            timeout: Duration::from_secs(security.limits.timeout_s),
            cpu_s: security.limits.cpu_s,
            memory_mb: security.limits.memory_mb,
            file_size_mb: security.limits.file_size_mb,
            max_output_kb: security.limits.max_output_kb,
            max_processes: security.limits.max_processes,
            cpu_percent: security.limits.cpu_percent,
            ..Limits::default()
        };
        let mut write_roots = vec![workspace.to_path_buf()];
        write_roots.extend(security.paths.write.iter().cloned());
        let mut read_roots = write_roots.clone();
        read_roots.extend(security.paths.read.iter().cloned());
        let path_var = std::env::join_paths(search_path).unwrap_or_default();
        let run_as = RunAsDecision::decide(security.run_as.as_deref());
        // A run_as child cannot reach leash's own (root's, 0700) cache: its
        // private tmp is made in the system temp dir instead (mkdtemp, 0700,
        // owned by the run_as user), and its HOME is its own.
        let (tmp_base, home) = match &run_as {
            RunAsDecision::Switch { home, .. } => (std::env::temp_dir(), home.clone()),
            RunAsDecision::Inherit | RunAsDecision::Refuse(_) => (
                loaded.paths.cache_dir.join("tmp"),
                loaded.paths.home.clone(),
            ),
        };
        let env = scrubbed_env(
            &home,
            &tmp_base,
            &path_var,
            TermuxEnv::from_process_env().as_ref(),
        );
        SandboxTemplate {
            limits,
            write_roots,
            read_roots,
            network: security.network,
            required: security
                .sandbox
                .require
                .iter()
                .copied()
                .map(layer_for)
                .collect(),
            env,
            tmp_base,
            run_as,
        }
    }

    /// Whom commands run as, or why none may run.
    pub fn run_as(&self) -> &RunAsDecision {
        &self.run_as
    }

    /// The write roots (the workspace first).
    pub fn write_roots(&self) -> &[PathBuf] {
        &self.write_roots
    }

    /// The spec for one resolved command run in `cwd`, or why it must not
    /// run (leash is root and `security.run_as` does not name a usable user).
    pub fn spec_for(&self, command: &ResolvedCommand, cwd: &Path) -> Result<SandboxSpec, String> {
        let run_as = self.run_as.ids()?;
        Ok(SandboxSpec {
            program: command.program.clone(),
            argv: command.argv.iter().map(OsString::from).collect(),
            cwd: cwd.to_path_buf(),
            env: self.env.clone(),
            limits: self.limits.clone(),
            write_roots: self.write_roots.clone(),
            read_roots: self.read_roots.clone(),
            network: self.network,
            required: self.required.clone(),
            tmp_base: self.tmp_base.clone(),
            run_as,
        })
    }

    /// Where private temp dirs are created; must exist before a run.
    pub fn tmp_base(&self) -> &Path {
        &self.tmp_base
    }

    /// The required layers' names, for audit records.
    pub fn required_names(&self) -> Vec<&'static str> {
        self.required.iter().map(|l| l.as_str()).collect()
    }

    /// The limits, for audit records.
    pub fn limits_json(&self) -> Value {
        json!({
            "timeout_s": self.limits.timeout.as_secs(),
            "cpu_s": self.limits.cpu_s,
            "memory_mb": self.limits.memory_mb,
            "file_size_mb": self.limits.file_size_mb,
            "max_output_kb": self.limits.max_output_kb,
            "max_processes": self.limits.max_processes,
        })
    }
}
