//! From the user's config to the policy's inputs, for one workspace.
//!
//! leash's own files are always protected from the commands it runs: the config
//! dir (config and learned rules: a model that could edit those could allow
//! itself anything), the state dir (database, audit log, token), the data dir
//! (models), the config file wherever it is, the audit mirror, the daemon's
//! log file (`logging.file`: a command that could rewrite it could hide what
//! happened, or forge it) and every extra rules file.

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
    protected.extend(loaded.config.logging.file.iter().cloned());
    protected.extend(security.rules.iter().cloned());
    settings.protected_paths = protected;

    for file in &security.rules {
        let text = std::fs::read_to_string(file).map_err(|source| EngineError::RulesFile {
            path: file.clone(),
            source,
        })?;
        settings
            .extra_rules
            .push(RulesSource::configured(file.display().to_string(), text));
    }
    match std::fs::read_to_string(&learned) {
        Ok(text) => settings
            .extra_rules
            .push(RulesSource::learned(learned.display().to_string(), text)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use leash_config::{EnvVars, LoadOptions, load};
    use leash_policy::{Decision, Policy};

    /// Regression class `leash-own-files`: the daemon's log file is leash's
    /// own, wherever the config puts it (here inside the workspace, where
    /// commands may otherwise write): no command may write or remove it.
    #[test]
    fn the_daemon_log_file_is_protected_even_inside_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(&ws).unwrap();
        let log = ws.join("leash.log");
        std::fs::write(&log, "").unwrap();
        let config = dir.path().join("config.yaml");
        std::fs::write(
            &config,
            format!("logging:\n  level: error\n  file: {}\n", log.display()),
        )
        .unwrap();
        // Every XDG directory defaults to one under this home.
        let home = dir.path().join("home").display().to_string();
        let options = LoadOptions {
            cwd: Some(ws.clone()),
            config_file: Some(config),
            overrides: Vec::new(),
            env: EnvVars::from_pairs(vec![("HOME", home)]),
        };
        let loaded = load(&options).unwrap();
        let policy = Policy::load(policy_settings(&loaded, &ws).unwrap()).unwrap();
        let log_arg = log.display().to_string();
        for argv in [
            vec!["touch", log_arg.as_str()],
            vec!["rm", log_arg.as_str()],
            vec!["cp", "/etc/hostname", log_arg.as_str()],
        ] {
            let verdict = policy.check_argv_at(&argv, &ws);
            assert_eq!(verdict.decision, Decision::Deny, "{argv:?}: {verdict:?}");
        }
        // The same command on an ordinary workspace file is not denied.
        let other = ws.join("notes.txt").display().to_string();
        let verdict = policy.check_argv_at(&["touch", other.as_str()], &ws);
        assert_ne!(verdict.decision, Decision::Deny, "{verdict:?}");
    }
}
