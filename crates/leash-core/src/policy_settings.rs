//! From the user's config to the policy's inputs, for one workspace.
//!
//! leash's own files are always protected from the commands it runs: the config
//! dir (config and learned rules: a model that could edit those could allow
//! itself anything), the state dir (database, audit log, token), the data dir
//! (models), the config file wherever it is, the audit mirror and every extra
//! rules file.

use std::path::{Path, PathBuf};

use leash_config::LoadedConfig;
use leash_policy::{PolicySettings, RulesSource};

use crate::error::EngineError;

/// The policy settings for commands run in `workspace` under `loaded`'s config.
/// Reads the extra rules files and the learned-rules file (a missing
/// learned-rules file is fine: nothing learned yet; a missing extra rules file
/// is an error, since the user named it).
pub fn policy_settings(
    loaded: &LoadedConfig,
    workspace: &Path,
) -> Result<PolicySettings, EngineError> {
    let security = &loaded.config.security;
    let paths = &loaded.paths;
    let mut settings = PolicySettings::new(workspace.to_path_buf(), paths.home.clone());
    if let Some(whitelist) = &security.whitelist {
        settings.whitelist = whitelist.clone();
    }
    settings.blacklist = security.blacklist.clone();
    settings.require_approval_for = security.require_approval_for.clone();
    if !security.search_path.is_empty() {
        settings.search_path = security.search_path.clone();
    }
    settings.read_roots = security.paths.read.clone();
    settings.write_roots = security.paths.write.clone();
    settings.deny_paths = security.paths.deny.clone();
    settings.allow_paths = security.paths.allow.clone();
    settings.network = security.network;

    let learned = security.learned_rules_path(paths);
    let mut protected: Vec<PathBuf> = vec![
        paths.config_dir.clone(),
        paths.state_dir.clone(),
        paths.data_dir.clone(),
        learned.clone(),
    ];
    protected.extend(loaded.source.iter().cloned());
    protected.extend(loaded.config.logging.audit_log.iter().cloned());
    protected.extend(security.rules.iter().cloned());
    settings.protected_paths = protected;

    for file in &security.rules {
        let text = std::fs::read_to_string(file).map_err(|source| EngineError::RulesFile {
            path: file.clone(),
            source,
        })?;
        settings.extra_rules.push(RulesSource {
            name: file.display().to_string(),
            text,
        });
    }
    match std::fs::read_to_string(&learned) {
        Ok(text) => settings.extra_rules.push(RulesSource {
            name: learned.display().to_string(),
            text,
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(EngineError::RulesFile {
                path: learned,
                source,
            });
        }
    }
    Ok(settings)
}
