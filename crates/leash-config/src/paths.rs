//! Where leash keeps its files: XDG base directories on Linux, the same layout
//! under `$HOME` on Termux.
//!
//! | dir | Linux default | holds |
//! |---|---|---|
//! | config | `$XDG_CONFIG_HOME/leash` (`~/.config/leash`) | `config.yaml`, `learned-rules.yaml` |
//! | state | `$XDG_STATE_HOME/leash` (`~/.local/state/leash`) | `leash.db`, `api.token`, lock files |
//! | data | `$XDG_DATA_HOME/leash` (`~/.local/share/leash`) | `models/` |
//! | cache | `$XDG_CACHE_HOME/leash` (`~/.cache/leash`) | disposable files |
//!
//! Per the XDG spec, an empty or relative `XDG_*` value is ignored. On Termux
//! (`leash_system_paths::detect_termux`) the same rules apply, and additionally any
//! `XDG_*` value inside `$PREFIX/tmp` is ignored: Android wipes that directory
//! when the app restarts, and leash's state must survive that.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::env::EnvVars;

/// The file names inside leash's directories, fixed so docs and scripts agree.
const CONFIG_FILE: &str = "config.yaml";
const LEARNED_RULES_FILE: &str = "learned-rules.yaml";
const DATABASE_FILE: &str = "leash.db";
const API_TOKEN_FILE: &str = "api.token";
const DAEMON_LOCK_FILE: &str = "daemon.lock";
const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The kind of system leash runs on, as far as file locations are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// An ordinary Linux system.
    Linux,
    /// Android under Termux.
    Termux,
}

/// leash's directories, resolved once from an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeashPaths {
    /// The user's home (`$HOME`).
    pub home: PathBuf,
    /// `config.yaml`, `learned-rules.yaml`.
    pub config_dir: PathBuf,
    /// `leash.db`, `api.token`, lock files. Mode 0700.
    pub state_dir: PathBuf,
    /// `models/`.
    pub data_dir: PathBuf,
    /// Disposable files.
    pub cache_dir: PathBuf,
    /// Linux or Termux.
    pub platform: Platform,
}

/// Why leash's directories could not be determined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathsError {
    /// `$HOME` is not set: there is nowhere to put config and state.
    #[error("$HOME is not set; leash needs it to find its config and state directories")]
    NoHome,
    /// `$HOME` is relative: paths under it would move with the current directory.
    #[error("$HOME is not an absolute path: {0:?}")]
    RelativeHome(String),
}

impl LeashPaths {
    /// Resolve from an explicit environment (tests use this; nothing is read from
    /// the real process environment or file system).
    pub fn from_env(env: &EnvVars) -> Result<Self, PathsError> {
        let home_text = env.get_nonempty("HOME").ok_or(PathsError::NoHome)?;
        let home = PathBuf::from(home_text);
        if !home.is_absolute() {
            return Err(PathsError::RelativeHome(home_text.to_string()));
        }
        let termux_prefix = leash_system_paths::detect_termux(
            env.get_nonempty("PREFIX").map(std::ffi::OsStr::new),
            env.get_nonempty("TERMUX_VERSION").map(std::ffi::OsStr::new),
        );
        let platform = if termux_prefix.is_some() {
            Platform::Termux
        } else {
            Platform::Linux
        };
        let base = |var: &str, fallback: &[&str]| -> PathBuf {
            let from_var = env
                .get_nonempty(var)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .filter(|p| match &termux_prefix {
                    Some(prefix) => !p.starts_with(prefix.join("tmp")),
                    None => true,
                });
            from_var
                .unwrap_or_else(|| fallback.iter().fold(home.clone(), |p, c| p.join(c)))
                .join("leash")
        };
        Ok(LeashPaths {
            config_dir: base("XDG_CONFIG_HOME", &[".config"]),
            state_dir: base("XDG_STATE_HOME", &[".local", "state"]),
            data_dir: base("XDG_DATA_HOME", &[".local", "share"]),
            cache_dir: base("XDG_CACHE_HOME", &[".cache"]),
            home,
            platform,
        })
    }

    /// Resolve from the current process's environment.
    pub fn from_process_env() -> Result<Self, PathsError> {
        Self::from_env(&EnvVars::from_process())
    }

    /// `config_dir/config.yaml`: the config used when neither `--config` nor
    /// `$LEASH_CONFIG` names one.
    pub fn default_config_file(&self) -> PathBuf {
        self.config_dir.join(CONFIG_FILE)
    }

    /// `config_dir/learned-rules.yaml`: rules learned from approvals (default of
    /// `security.learned_rules`).
    pub fn learned_rules_file(&self) -> PathBuf {
        self.config_dir.join(LEARNED_RULES_FILE)
    }

    /// `state_dir/leash.db`: the SQLite state and audit database.
    pub fn database_file(&self) -> PathBuf {
        self.state_dir.join(DATABASE_FILE)
    }

    /// `state_dir/api.token`: the HTTP API's bearer token (mode 0600).
    pub fn api_token_file(&self) -> PathBuf {
        self.state_dir.join(API_TOKEN_FILE)
    }

    /// `state_dir/daemon.lock`: held by the running daemon.
    pub fn daemon_lock_file(&self) -> PathBuf {
        self.state_dir.join(DAEMON_LOCK_FILE)
    }

    /// `data_dir/models`.
    pub fn models_dir(&self) -> PathBuf {
        self.data_dir.join("models")
    }

    /// The model used when `model.backend` is `llama` and `model.path` is not set.
    pub fn default_model_file(&self) -> PathBuf {
        self.models_dir().join(DEFAULT_MODEL_FILE)
    }

    /// The directories `leash init` creates with mode 0700, parents first.
    pub fn private_dirs(&self) -> Vec<PathBuf> {
        vec![
            self.config_dir.clone(),
            self.state_dir.clone(),
            self.data_dir.clone(),
            self.models_dir(),
            self.cache_dir.clone(),
        ]
    }

    /// Whether `path` is inside one of leash's own directories (config, state):
    /// such paths are protected from the model's commands.
    pub fn is_leash_private(&self, path: &Path) -> bool {
        path.starts_with(&self.config_dir) || path.starts_with(&self.state_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn linux_uses_xdg_variables() {
        let env = EnvVars::from_pairs([
            ("HOME", "/home/u"),
            ("XDG_CONFIG_HOME", "/cfg"),
            ("XDG_STATE_HOME", "/st"),
            ("XDG_DATA_HOME", "/data"),
            ("XDG_CACHE_HOME", "/cache"),
        ]);
        let paths = LeashPaths::from_env(&env).unwrap();
        assert_eq!(paths.platform, Platform::Linux);
        assert_eq!(paths.default_config_file(), p("/cfg/leash/config.yaml"));
        assert_eq!(paths.database_file(), p("/st/leash/leash.db"));
        assert_eq!(paths.api_token_file(), p("/st/leash/api.token"));
        assert_eq!(
            paths.default_model_file(),
            p("/data/leash/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        );
        assert_eq!(paths.cache_dir, p("/cache/leash"));
        assert_eq!(
            paths.learned_rules_file(),
            p("/cfg/leash/learned-rules.yaml")
        );
    }

    #[test]
    fn linux_falls_back_to_home_and_ignores_empty_or_relative_xdg() {
        let env = EnvVars::from_pairs([
            ("HOME", "/home/u"),
            ("XDG_CONFIG_HOME", ""),
            ("XDG_STATE_HOME", "rel/state"),
        ]);
        let paths = LeashPaths::from_env(&env).unwrap();
        assert_eq!(paths.config_dir, p("/home/u/.config/leash"));
        assert_eq!(paths.state_dir, p("/home/u/.local/state/leash"));
        assert_eq!(paths.data_dir, p("/home/u/.local/share/leash"));
        assert_eq!(paths.cache_dir, p("/home/u/.cache/leash"));
    }

    #[test]
    fn termux_keeps_everything_under_home_and_never_in_prefix_tmp() {
        let prefix = "/data/data/com.termux/files/usr";
        let home = "/data/data/com.termux/files/home";
        let env = EnvVars::from_pairs([
            ("HOME", home),
            ("PREFIX", prefix),
            ("TMPDIR", "/data/data/com.termux/files/usr/tmp"),
            (
                "XDG_STATE_HOME",
                "/data/data/com.termux/files/usr/tmp/state",
            ),
            ("XDG_CACHE_HOME", "/data/data/com.termux/files/usr/tmp"),
        ]);
        let paths = LeashPaths::from_env(&env).unwrap();
        assert_eq!(paths.platform, Platform::Termux);
        assert_eq!(paths.config_dir, p(&format!("{home}/.config/leash")));
        assert_eq!(paths.state_dir, p(&format!("{home}/.local/state/leash")));
        assert_eq!(paths.data_dir, p(&format!("{home}/.local/share/leash")));
        assert_eq!(paths.cache_dir, p(&format!("{home}/.cache/leash")));
        for dir in paths.private_dirs() {
            assert!(!dir.starts_with(format!("{prefix}/tmp")), "{dir:?}");
        }
    }

    #[test]
    fn a_prefix_that_is_not_termux_is_plain_linux() {
        let env = EnvVars::from_pairs([("HOME", "/home/u"), ("PREFIX", "/usr/local")]);
        assert_eq!(
            LeashPaths::from_env(&env).unwrap().platform,
            Platform::Linux
        );
    }

    #[test]
    fn home_is_required_and_absolute() {
        assert_eq!(
            LeashPaths::from_env(&EnvVars::default()),
            Err(PathsError::NoHome)
        );
        let env = EnvVars::from_pairs([("HOME", "home")]);
        assert_eq!(
            LeashPaths::from_env(&env),
            Err(PathsError::RelativeHome("home".into()))
        );
    }
}
