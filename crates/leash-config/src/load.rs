//! Loading: find the file, parse it, lay the overrides over it, validate
//! everything, and report every error at once.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::env::EnvVars;
use crate::error::{ConfigError, ConfigErrors, ConfigWarning};
use crate::expand::absolutize;
use crate::overrides;
use crate::paths::LeashPaths;
use crate::reader::{ReadContext, Reader};
use crate::schema::Config;
use crate::yaml_tree::{Node, Origin, TreeProblem, parse_file};

/// A config file larger than this is refused (a config is a few KiB; anything
/// bigger is a mistake, such as pointing `--config` at a model file).
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The environment variable naming the config file (not an override).
pub const CONFIG_ENV_VAR: &str = "LEASH_CONFIG";

/// What to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// A config file named on the command line (`--config FILE`, `config check FILE`).
    pub config_file: Option<PathBuf>,
    /// The environment: `LEASH_CONFIG`, `LEASH_*` overrides, `$VAR`/`~` expansion, XDG dirs.
    pub env: EnvVars,
    /// `--set KEY=VALUE` flags, in order (the top layer).
    pub overrides: Vec<String>,
    /// Base of relative paths given in overrides and of a relative `--config`.
    pub cwd: Option<PathBuf>,
}

impl LoadOptions {
    /// Options from the running process: its environment and current directory.
    pub fn from_process(config_file: Option<PathBuf>, overrides: Vec<String>) -> Self {
        LoadOptions {
            config_file,
            env: EnvVars::from_process(),
            overrides,
            cwd: std::env::current_dir().ok(),
        }
    }
}

/// Who chose the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigChoice {
    /// `--config FILE` or `leash config check FILE`: must exist.
    CommandLine,
    /// `$LEASH_CONFIG`: must exist.
    Environment,
    /// `config.yaml` in the config dir: may be missing (built-in defaults).
    Default,
}

/// Where the config file is, and who said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigLocation {
    /// Absolute when the current directory is known.
    pub path: PathBuf,
    /// Command line, environment or default.
    pub chosen_by: ConfigChoice,
}

/// A validated config and where everything is.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedConfig {
    /// The effective config.
    pub config: Config,
    /// leash's directories.
    pub paths: LeashPaths,
    /// The file that was read; `None` when the default file does not exist and
    /// the built-in defaults (plus overrides) are in effect.
    pub source: Option<PathBuf>,
    /// Where the config file is or would be.
    pub location: ConfigLocation,
    /// Oddities that do not stop leash (a missing model file or directory).
    pub warnings: Vec<ConfigWarning>,
}

/// Where the config file is: `options.config_file`, else `$LEASH_CONFIG`, else
/// `config.yaml` in the config dir.
pub fn locate_config(options: &LoadOptions, paths: &LeashPaths) -> ConfigLocation {
    let (path, chosen_by) = match (
        &options.config_file,
        options.env.get_nonempty(CONFIG_ENV_VAR),
    ) {
        (Some(path), _) => (path.clone(), ConfigChoice::CommandLine),
        (None, Some(path)) => (PathBuf::from(path), ConfigChoice::Environment),
        (None, None) => (paths.default_config_file(), ConfigChoice::Default),
    };
    let path = match &options.cwd {
        Some(cwd) => absolutize(&path, cwd),
        None => path,
    };
    ConfigLocation { path, chosen_by }
}

/// Load and validate the config: defaults < file < `LEASH_*` < `--set`.
/// On failure every error found is returned, file errors in line order first.
pub fn load(options: &LoadOptions) -> Result<LoadedConfig, ConfigErrors> {
    let paths = LeashPaths::from_env(&options.env).map_err(|e| {
        ConfigErrors::one(ConfigError {
            key: String::new(),
            line: None,
            column: None,
            message: e.to_string(),
            source_name: "environment".into(),
        })
    })?;
    let location = locate_config(options, &paths);
    let file_name = location.path.display().to_string();
    let text = read_config_text(&location, &file_name)?;
    let source = text.as_ref().map(|_| location.path.clone());

    let mut problems: Vec<TreeProblem> = Vec::new();
    let mut root = match &text {
        Some(text) => match parse_file(text) {
            Ok(doc) => {
                problems.extend(doc.problems);
                doc.root
            }
            Err(fatal) => return Err(ConfigErrors::one(problem_to_error(fatal, &file_name))),
        },
        None => Node::null(Origin::File { line: 1, column: 1 }),
    };
    let (env_overrides, env_problems) = overrides::from_env(&options.env);
    let (flag_overrides, flag_problems) = overrides::from_flags(&options.overrides);
    problems.extend(env_problems);
    problems.extend(flag_problems);
    for ov in env_overrides.iter().chain(&flag_overrides) {
        if let Err(p) = overrides::apply(&mut root, ov) {
            problems.push(p);
        }
    }

    let file_dir = location.path.parent().map(Path::to_path_buf);
    let mut reader = Reader::new(ReadContext {
        env: &options.env,
        file_name: &file_name,
        file_dir: file_dir.as_deref(),
        cwd: options.cwd.as_deref(),
    });
    let config = Config::read(&mut reader, &root);
    let mut errors: Vec<ConfigError> = problems
        .into_iter()
        .map(|p| problem_to_error(p, &file_name))
        .collect();
    errors.append(&mut reader.take_errors());
    if !errors.is_empty() {
        // File errors in line order, then override errors in the order given.
        errors.sort_by_key(|e| (e.line.is_none(), e.line, e.column));
        return Err(ConfigErrors(errors));
    }
    check_files_exist(&mut reader, &config, &paths);
    tracing::debug!(config = %file_name, found = source.is_some(), "config loaded");
    Ok(LoadedConfig {
        config,
        paths,
        source,
        location,
        warnings: reader.warnings,
    })
}

fn read_config_text(
    location: &ConfigLocation,
    file_name: &str,
) -> Result<Option<String>, ConfigErrors> {
    let fail = |message: String| {
        ConfigErrors::one(ConfigError {
            key: String::new(),
            line: None,
            column: None,
            message,
            source_name: file_name.to_string(),
        })
    };
    match std::fs::metadata(&location.path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match location.chosen_by {
            ConfigChoice::Default => Ok(None),
            ConfigChoice::CommandLine => Err(fail("config file not found".into())),
            ConfigChoice::Environment => Err(fail(format!(
                "config file not found (named by ${CONFIG_ENV_VAR})"
            ))),
        },
        Err(e) => Err(fail(format!("cannot read config file: {e}"))),
        Ok(meta) if meta.is_dir() => Err(fail("is a directory, not a config file".into())),
        Ok(meta) if meta.len() > MAX_CONFIG_BYTES => Err(fail(format!(
            "config file is {} bytes; refusing anything over {MAX_CONFIG_BYTES}",
            meta.len()
        ))),
        Ok(_) => match std::fs::read_to_string(&location.path) {
            Ok(text) => Ok(Some(text)),
            Err(e) => Err(fail(format!("cannot read config file: {e}"))),
        },
    }
}

fn problem_to_error(problem: TreeProblem, file_name: &str) -> ConfigError {
    let (source_name, line, column) = match problem.origin {
        Origin::File { line, column } => (file_name.to_string(), Some(line), Some(column)),
        Origin::Override { label } => (label.to_string(), None, None),
    };
    ConfigError {
        key: problem.key,
        line,
        column,
        message: problem.message,
        source_name,
    }
}

/// Files and directories the config names that do not exist (yet): warnings,
/// since they may appear later (a model still downloading, a mount not up).
fn check_files_exist(r: &mut Reader<'_>, config: &Config, paths: &LeashPaths) {
    if let Some(model) = config.model.effective_path(paths)
        && !model.is_file()
    {
        let message = match &config.model.path {
            Some(_) => format!("model file {} does not exist", model.display()),
            None => format!(
                "no model.path set and the default model {} does not exist",
                model.display()
            ),
        };
        r.warn_path("model.path", message);
    }
    let check = |r: &mut Reader<'_>, key: String, path: &Path, what: &str, want_dir: bool| {
        let ok = if want_dir {
            path.is_dir()
        } else {
            path.is_file()
        };
        if !ok {
            r.warn_path(&key, format!("{what} {} does not exist", path.display()));
        }
    };
    for (i, fb) in config.model.fallbacks.iter().enumerate() {
        if let Some(path) = &fb.path {
            check(
                r,
                format!("model.fallbacks[{i}].path"),
                path,
                "model file",
                false,
            );
        }
        if let Some(path) = &fb.transcript {
            check(
                r,
                format!("model.fallbacks[{i}].transcript"),
                path,
                "transcript",
                false,
            );
        }
    }
    if let Some(path) = &config.model.transcript {
        check(r, "model.transcript".into(), path, "transcript", false);
    }
    if let Some(path) = &config.security.workspace {
        check(
            r,
            "security.workspace".into(),
            path,
            "workspace directory",
            true,
        );
    }
    for (i, path) in config.security.rules.iter().enumerate() {
        check(
            r,
            format!("security.rules[{i}]"),
            path,
            "rule file (the policy will refuse to load without it)",
            false,
        );
    }
    for (i, path) in config.monitoring.watch_directories.iter().enumerate() {
        check(
            r,
            format!("monitoring.watch_directories[{i}]"),
            path,
            "watched directory",
            true,
        );
    }
    for (key, file) in [
        ("logging.audit_log", &config.logging.audit_log),
        ("logging.file", &config.logging.file),
    ] {
        if let Some(parent) = file.as_ref().and_then(|f| f.parent()) {
            check(r, key.into(), parent, "directory", true);
        }
    }
    for (i, trigger) in config.triggers.iter().enumerate() {
        if let Some(repo) = &trigger.repo {
            check(r, format!("triggers[{i}].repo"), repo, "repository", true);
        }
        if let Some(ws) = &trigger.workspace {
            check(
                r,
                format!("triggers[{i}].workspace"),
                ws,
                "workspace directory",
                true,
            );
        }
    }
}
