//! `leash doctor [--json]`: what this machine offers and whether leash can work
//! here — each sandbox layer (active, or unavailable and why), kernel, Termux,
//! Android SDK, the state dir's health, the config's validity and the model file.
//!
//! Exit status 0 when nothing leash needs is missing; 1 when a layer the config
//! requires is unavailable, the config is invalid, or the state dir exists but is
//! not a private (0700), writable directory. A state dir that does not exist yet
//! (before `leash init`) and a missing model file are reported, not fatal.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use leash_config::{
    Backend, ConfigError, ConfigLocation, ConfigWarning, EnvVars, LeashPaths, LoadOptions,
    LoadedConfig, load,
};
use leash_sandbox::{Layer, LayerReport, LayerState, probe};
use serde::Serialize;

use crate::cmd::doctor_hardening;
use crate::cmd::doctor_phone;
use crate::exit;
use crate::global::GlobalArgs;

/// `leash doctor` takes only the global flags (`--config`, `--set`, `--json`).
#[derive(Debug, Args)]
pub struct DoctorArgs {}

/// Everything doctor found, printed as one JSON document with `--json`.
#[derive(Debug, Serialize)]
struct DoctorReport {
    ok: bool,
    problems: Vec<String>,
    #[serde(flatten)]
    sandbox: LayerReport,
    required: Vec<Layer>,
    required_missing: Vec<MissingLayer>,
    state_dir: Option<StateDirHealth>,
    config: ConfigHealth,
    model: Option<ModelHealth>,
    hardening: doctor_hardening::Hardening,
    /// Termux, Termux:API, phantom processes, `$PREFIX/tmp`, voice.
    phone: Option<doctor_phone::Phone>,
}

#[derive(Debug, Serialize)]
struct MissingLayer {
    layer: Layer,
    why: String,
}

/// The state dir: leash's database, token and locks live here.
#[derive(Debug, Serialize)]
struct StateDirHealth {
    path: PathBuf,
    exists: bool,
    is_dir: bool,
    /// Permission bits as octal text, e.g. "0700".
    mode: Option<String>,
    private: bool,
    writable: bool,
    /// Why it is not healthy (empty when healthy or simply not created yet).
    problems: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ConfigHealth {
    location: Option<ConfigLocation>,
    /// The file actually read; `None` when built-in defaults are in effect.
    loaded_from: Option<PathBuf>,
    valid: bool,
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigWarning>,
}

#[derive(Debug, Serialize)]
struct ModelHealth {
    backend: Backend,
    /// The GGUF (llama) or transcript (replay) file; `None` for a server.
    path: Option<PathBuf>,
    present: bool,
    size_bytes: Option<u64>,
    note: String,
}

pub fn run(global: &GlobalArgs, _args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let report = diagnose(global);
    if global.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_text(&report));
    }
    Ok(if report.ok {
        exit::success()
    } else {
        exit::failure()
    })
}

fn diagnose(global: &GlobalArgs) -> DoctorReport {
    let sandbox = probe();
    let options = LoadOptions::from_process(global.config.clone(), global.overrides.clone());
    let loaded = load(&options);
    let paths = match &loaded {
        Ok(loaded) => Ok(loaded.paths.clone()),
        Err(_) => LeashPaths::from_env(&EnvVars::from_process()),
    };
    let config = config_health(&options, &loaded, paths.as_ref().ok());
    let state_dir = paths.as_ref().ok().map(|p| state_dir_health(&p.state_dir));
    let model = match (&loaded, &paths) {
        (Ok(loaded), Ok(paths)) => Some(model_health(loaded, paths)),
        _ => None,
    };
    let required: Vec<Layer> = match &loaded {
        Ok(loaded) => required_layers(loaded),
        Err(_) => Vec::new(),
    };
    let hardening = doctor_hardening::diagnose(loaded.as_ref().ok());
    let mut problems: Vec<String> = doctor_hardening::problems(&hardening);
    let phone = doctor_phone::diagnose(loaded.as_ref().ok(), sandbox.android_sdk);
    problems.extend(doctor_phone::problems(phone.as_ref()));
    if let Err(e) = &paths {
        problems.push(format!("leash's directories cannot be determined: {e}"));
    }
    let (ok, required_missing) = verdict(
        &sandbox,
        &required,
        &config,
        state_dir.as_ref(),
        &mut problems,
    );
    DoctorReport {
        ok,
        problems,
        sandbox,
        required,
        required_missing,
        state_dir,
        config,
        model,
        hardening,
        phone,
    }
}

/// The config's required layers as sandbox layers. The config crate validates
/// the names; both spell them the same way.
fn required_layers(loaded: &LoadedConfig) -> Vec<Layer> {
    loaded
        .config
        .security
        .sandbox
        .require
        .iter()
        .filter_map(|name| name.as_str().parse::<Layer>().ok())
        .collect()
}

/// Decides the exit status and lists every reason for failing.
fn verdict(
    sandbox: &LayerReport,
    required: &[Layer],
    config: &ConfigHealth,
    state_dir: Option<&StateDirHealth>,
    problems: &mut Vec<String>,
) -> (bool, Vec<MissingLayer>) {
    let missing: Vec<MissingLayer> = sandbox
        .missing(required)
        .into_iter()
        .map(|(layer, why)| MissingLayer { layer, why })
        .collect();
    for m in &missing {
        problems.push(format!(
            "sandbox layer `{}` is required by security.sandbox.require but unavailable: {}",
            m.layer, m.why
        ));
    }
    if !config.valid {
        problems.push(format!(
            "the config has {} error(s); nothing can run until they are fixed",
            config.errors.len()
        ));
    }
    if let Some(state) = state_dir {
        problems.extend(
            state
                .problems
                .iter()
                .map(|p| format!("state dir {}: {p}", state.path.display())),
        );
    }
    (problems.is_empty(), missing)
}

fn config_health(
    options: &LoadOptions,
    loaded: &Result<LoadedConfig, leash_config::ConfigErrors>,
    paths: Option<&LeashPaths>,
) -> ConfigHealth {
    match loaded {
        Ok(loaded) => ConfigHealth {
            location: Some(loaded.location.clone()),
            loaded_from: loaded.source.clone(),
            valid: true,
            errors: Vec::new(),
            warnings: loaded.warnings.clone(),
        },
        Err(errors) => ConfigHealth {
            location: paths.map(|p| leash_config::locate_config(options, p)),
            loaded_from: None,
            valid: false,
            errors: errors.errors().to_vec(),
            warnings: Vec::new(),
        },
    }
}

/// Exists, is a directory, mode 0700, and a file can really be created in it.
fn state_dir_health(path: &Path) -> StateDirHealth {
    let meta = fs::metadata(path).ok();
    let exists = meta.is_some();
    let is_dir = meta.as_ref().is_some_and(fs::Metadata::is_dir);
    let bits = meta.as_ref().map(|m| m.permissions().mode() & 0o7777);
    let private = bits == Some(0o700);
    let mut problems = Vec::new();
    let writable = is_dir && probe_writable(path, &mut problems);
    if exists && !is_dir {
        problems.push("exists but is not a directory".to_owned());
    }
    if let (true, Some(bits)) = (is_dir, bits)
        && bits != 0o700
    {
        problems.push(format!(
            "mode is {bits:04o}, expected 0700 (chmod 700 {})",
            path.display()
        ));
    }
    StateDirHealth {
        path: path.to_path_buf(),
        exists,
        is_dir,
        mode: bits.map(|b| format!("{b:04o}")),
        private,
        writable,
        problems,
    }
}

/// Creates and removes a probe file: the only honest writability test (root
/// passes every `access()` check).
fn probe_writable(dir: &Path, problems: &mut Vec<String>) -> bool {
    let probe = dir.join(format!(".leash-doctor-{}", std::process::id()));
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            if let Err(e) = fs::remove_file(&probe) {
                problems.push(format!("removing probe file {}: {e}", probe.display()));
            }
            true
        }
        Err(e) => {
            problems.push(format!("not writable: {e}"));
            false
        }
    }
}

fn model_health(loaded: &LoadedConfig, paths: &LeashPaths) -> ModelHealth {
    let model = &loaded.config.model;
    let file = |path: Option<PathBuf>, what: &str| {
        let size = path
            .as_ref()
            .and_then(|p| fs::metadata(p).ok())
            .filter(fs::Metadata::is_file)
            .map(|m| m.len());
        let note = match (&path, size) {
            (Some(_), Some(_)) => format!("{what} present"),
            (Some(p), None) => format!("{what} missing: {}", p.display()),
            (None, _) => format!("no {what} configured"),
        };
        ModelHealth {
            backend: model.backend,
            present: size.is_some(),
            size_bytes: size,
            path,
            note,
        }
    };
    match model.backend {
        Backend::Llama | Backend::LlamaServer => file(model.effective_path(paths), "model file"),
        Backend::Replay => file(model.transcript.clone(), "transcript"),
        Backend::Openai => ModelHealth {
            backend: model.backend,
            path: None,
            present: false,
            size_bytes: None,
            note: match &model.base_url {
                Some(url) => format!("served by {url} (not contacted by doctor)"),
                None => "no base_url configured".to_owned(),
            },
        },
        Backend::Fleet => ModelHealth {
            backend: model.backend,
            path: None,
            present: false,
            size_bytes: None,
            note: format!(
                "offered by the fleet as {} (reached by the daemon; not contacted by doctor)",
                model.name.as_deref().unwrap_or("?")
            ),
        },
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn render_text(report: &DoctorReport) -> String {
    let mut out = String::new();
    let sandbox = &report.sandbox;
    out.push_str(&format!("kernel:       {}\n", sandbox.kernel));
    out.push_str(&format!("termux:       {}\n", yes_no(sandbox.termux)));
    out.push_str(&format!(
        "android sdk:  {}\n",
        sandbox
            .android_sdk
            .map_or_else(|| "-".to_owned(), |sdk| sdk.to_string())
    ));
    out.push_str("sandbox layers:\n");
    for status in &sandbox.layers {
        let required = if report.required.contains(&status.layer) {
            " [required]"
        } else {
            ""
        };
        let state = match &status.state {
            LayerState::Active => "active".to_owned(),
            LayerState::Unavailable { why } => format!("UNAVAILABLE: {why}"),
        };
        out.push_str(&format!(
            "  {:<14} {state}{required}\n",
            status.layer.as_str()
        ));
        if let Some(detail) = &status.detail {
            out.push_str(&format!("  {:<14}   ({detail})\n", ""));
        }
    }
    out.push_str(&doctor_hardening::render(&report.hardening));
    out.push_str(&doctor_phone::render(report.phone.as_ref()));
    match &report.state_dir {
        Some(state) if !state.exists => out.push_str(&format!(
            "state dir:    {}: does not exist yet (run `leash init`)\n",
            state.path.display()
        )),
        Some(state) if state.problems.is_empty() => out.push_str(&format!(
            "state dir:    {}: ok (mode {}, writable)\n",
            state.path.display(),
            state.mode.as_deref().unwrap_or("?")
        )),
        Some(state) => out.push_str(&format!(
            "state dir:    {}: {}\n",
            state.path.display(),
            state.problems.join("; ")
        )),
        None => out.push_str("state dir:    unknown\n"),
    }
    let config = &report.config;
    let where_ = match (&config.loaded_from, &config.location) {
        (Some(path), _) => path.display().to_string(),
        (None, Some(location)) => {
            format!("{} (absent: built-in defaults)", location.path.display())
        }
        (None, None) => "unknown location".to_owned(),
    };
    if config.valid {
        out.push_str(&format!("config:       {where_}: valid\n"));
    } else {
        out.push_str(&format!(
            "config:       {where_}: INVALID ({} error(s))\n",
            config.errors.len()
        ));
        for error in &config.errors {
            out.push_str(&format!("  error: {error}\n"));
        }
    }
    for warning in &config.warnings {
        out.push_str(&format!("  warning: {warning}\n"));
    }
    match &report.model {
        Some(model) => out.push_str(&format!(
            "model:        {} backend: {}\n",
            model.backend.as_str(),
            model.note
        )),
        None => out.push_str("model:        unknown (config invalid)\n"),
    }
    if report.ok {
        out.push_str("result:       ok\n");
    } else {
        out.push_str("result:       FAILED\n");
        for problem in &report.problems {
            out.push_str(&format!("  - {problem}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use leash_sandbox::LayerStatus;

    fn sandbox(unavailable: &[Layer]) -> LayerReport {
        LayerReport {
            layers: Layer::ALL
                .into_iter()
                .map(|layer| {
                    if unavailable.contains(&layer) {
                        LayerStatus::unavailable(layer, "kernel lacks it")
                    } else {
                        LayerStatus::active(layer)
                    }
                })
                .collect(),
            kernel: "Linux test".into(),
            termux: false,
            android_sdk: None,
        }
    }

    fn valid_config() -> ConfigHealth {
        ConfigHealth {
            location: None,
            loaded_from: None,
            valid: true,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn required_layer_missing_fails() {
        let mut problems = Vec::new();
        let (ok, missing) = verdict(
            &sandbox(&[Layer::Landlock]),
            &[Layer::Seccomp, Layer::Landlock],
            &valid_config(),
            None,
            &mut problems,
        );
        assert!(!ok);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].layer, Layer::Landlock);
        assert!(problems[0].contains("`landlock`"), "{problems:?}");
    }

    #[test]
    fn unavailable_but_not_required_layer_passes() {
        let mut problems = Vec::new();
        let (ok, missing) = verdict(
            &sandbox(&[Layer::Landlock]),
            &[Layer::Seccomp],
            &valid_config(),
            None,
            &mut problems,
        );
        assert!(ok, "{problems:?}");
        assert!(missing.is_empty());
    }

    #[test]
    fn state_dir_with_open_mode_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let health = state_dir_health(dir.path());
        assert!(health.exists && health.is_dir && health.writable);
        assert!(!health.private);
        assert_eq!(health.mode.as_deref(), Some("0755"));
        assert_eq!(health.problems.len(), 1, "{:?}", health.problems);

        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let health = state_dir_health(dir.path());
        assert!(health.private && health.problems.is_empty());
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "probe file left behind"
        );
    }

    #[test]
    fn missing_state_dir_is_reported_but_not_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let health = state_dir_health(&dir.path().join("state"));
        assert!(!health.exists && !health.writable);
        assert!(health.problems.is_empty());
    }
}
