//! From the config's `model:` section to a ready [`Backend`]: the primary
//! backend, then `model.fallbacks` in order, behind one [`FallbackChain`] whose
//! switches are collected in a [`SwitchLog`] for the audit log.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use leash_config::{Backend as BackendKind, LoadedConfig, ModelConfig, ModelFallback};
use leash_llm::{
    Backend, BackendError, BackendSwitch, FallbackChain, OpenAiBackend, OpenAiConfig,
    ReplayBackend, api_key_from_env,
};

/// The backend switches a fallback chain made, for the job loop to audit.
#[derive(Debug, Clone, Default)]
pub struct SwitchLog(Arc<Mutex<Vec<BackendSwitch>>>);

impl SwitchLog {
    /// The switches since the last call, oldest first.
    pub fn drain(&self) -> Vec<BackendSwitch> {
        match self.0.lock() {
            Ok(mut switches) => std::mem::take(&mut *switches),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    fn push(&self, switch: &BackendSwitch) {
        let mut guard = match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard.push(switch.clone());
    }
}

/// Opens backend `fleet`: a model another device of the fleet offers.
///
/// Why a trait injected from outside: leash-core (the engine) sits below
/// leash-fleet (NATS) in the crate layering, so it cannot reach the fleet
/// itself; the daemon, which joins the fleet, hands an implementation in
/// ([`open_backend_with`], [`crate::BackendPool::with_remote`]). The backend
/// it returns is an ordinary blocking [`Backend`], so the fallback chain, the
/// parser and the policy treat a remote answer exactly like a local one.
/// Without a factory (e.g. `leash ask`, which does not join the fleet) a
/// fleet backend fails to open and the chain goes on to the next backend.
pub trait RemoteModels: Send + Sync + std::fmt::Debug {
    /// A backend for model `model` offered by device `device`. Opening must
    /// not wait for the network: an unreachable fleet is reported by
    /// `generate` (as a connection or timeout error, which falls back).
    fn open(&self, device: &str, model: &str) -> Result<Box<dyn Backend>, BackendError>;
}

/// A shared [`RemoteModels`] factory.
pub type SharedRemoteModels = Arc<dyn RemoteModels>;

/// One backend's settings, whether primary or a fallback.
struct BackendSpec<'a> {
    kind: BackendKind,
    #[cfg_attr(not(feature = "llama"), allow(dead_code))]
    path: Option<PathBuf>,
    base_url: Option<&'a str>,
    name: Option<&'a str>,
    api_key_env: Option<&'a str>,
    transcript: Option<&'a PathBuf>,
    /// `model.server_bin` (llama-server).
    server_bin: Option<&'a PathBuf>,
    /// leash's cache dir (the embedded backend saves its KV cache there).
    #[cfg_attr(not(feature = "llama"), allow(dead_code))]
    cache_dir: &'a std::path::Path,
    /// Backend `fleet`: how to reach the fleet (`None`: not in one here).
    remote: Option<&'a SharedRemoteModels>,
}

/// Opens the configured backend chain. A backend that fails to open (a
/// missing model file, an unset API key variable) is skipped when another one
/// follows — that is what fallbacks are for — and is an error when none does.
pub fn open_backend(loaded: &LoadedConfig) -> Result<(Box<dyn Backend>, SwitchLog), BackendError> {
    open_backend_with(loaded, None)
}

/// [`open_backend`], with the fleet's models reachable through `remote`.
pub fn open_backend_with(
    loaded: &LoadedConfig,
    remote: Option<&SharedRemoteModels>,
) -> Result<(Box<dyn Backend>, SwitchLog), BackendError> {
    let model = &loaded.config.model;
    let mut specs = vec![BackendSpec {
        kind: model.backend,
        path: model.effective_path(&loaded.paths),
        base_url: model.base_url.as_deref(),
        name: model.name.as_deref(),
        api_key_env: model.api_key_env.as_deref(),
        transcript: model.transcript.as_ref(),
        server_bin: model.server_bin.as_ref(),
        cache_dir: &loaded.paths.cache_dir,
        remote,
    }];
    specs.extend(model.fallbacks.iter().map(|f: &ModelFallback| BackendSpec {
        kind: f.backend,
        path: f.backend.uses_model_file().then(|| {
            f.path
                .clone()
                .unwrap_or_else(|| loaded.paths.default_model_file())
        }),
        base_url: f.base_url.as_deref(),
        name: f.name.as_deref(),
        api_key_env: f.api_key_env.as_deref(),
        transcript: f.transcript.as_ref(),
        server_bin: model.server_bin.as_ref(),
        cache_dir: &loaded.paths.cache_dir,
        remote,
    }));
    let log = SwitchLog::default();
    let mut opened: Vec<Box<dyn Backend>> = Vec::new();
    let mut last_error = None;
    let count = specs.len();
    for (i, spec) in specs.iter().enumerate() {
        match open_one(spec, model) {
            Ok(backend) => opened.push(backend),
            Err(err) if i + 1 < count || !opened.is_empty() => {
                tracing::warn!(error = %err, "backend not available; trying the next one");
                log.push(&BackendSwitch {
                    from: spec_label(spec),
                    to: specs
                        .get(i + 1)
                        .map(spec_label)
                        .unwrap_or_else(|| "the next backend that opened".to_owned()),
                    error: err.to_string(),
                });
                last_error = Some(err);
            }
            Err(err) => return Err(err),
        }
    }
    if opened.is_empty() {
        return Err(last_error.unwrap_or_else(|| BackendError::Load {
            backend: "none".to_owned(),
            detail: "no model backend is configured".to_owned(),
        }));
    }
    if opened.len() == 1
        && let Some(only) = opened.pop()
    {
        return Ok((only, log));
    }
    let observer_log = log.clone();
    let chain =
        FallbackChain::new(opened).with_observer(Box::new(move |switch: &BackendSwitch| {
            observer_log.push(switch)
        }));
    Ok((Box::new(chain), log))
}

/// How a backend is named in switch records before it has opened.
fn spec_label(spec: &BackendSpec<'_>) -> String {
    match spec.kind {
        BackendKind::Llama => format!(
            "llama:{}",
            spec.path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ),
        BackendKind::Openai => format!("openai:{}", spec.base_url.unwrap_or_default()),
        BackendKind::LlamaServer => format!(
            "llama-server:{}",
            spec.path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ),
        BackendKind::Replay => format!(
            "replay:{}",
            spec.transcript
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ),
        BackendKind::Fleet => format!("fleet:{}", spec.name.unwrap_or_default()),
    }
}

fn open_one(spec: &BackendSpec<'_>, model: &ModelConfig) -> Result<Box<dyn Backend>, BackendError> {
    match spec.kind {
        BackendKind::Llama => open_llama(spec, model, spec.cache_dir),
        BackendKind::LlamaServer => open_llama_server(spec, model),
        BackendKind::Openai => {
            let base_url = spec.base_url.ok_or_else(|| BackendError::Load {
                backend: "openai".to_owned(),
                detail: "model.base_url is not set".to_owned(),
            })?;
            let api_key = match spec.api_key_env {
                Some(var) => api_key_from_env(var)?,
                None => None,
            };
            let label = base_url
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .unwrap_or(base_url)
                .to_owned();
            let config = OpenAiConfig::new(
                label,
                base_url,
                spec.name.unwrap_or("default"),
                api_key,
                true,
            );
            Ok(Box::new(OpenAiBackend::new(config)?))
        }
        BackendKind::Fleet => {
            let name = spec.name.unwrap_or_default();
            let (device, model) =
                leash_config::split_fleet_model(name).ok_or_else(|| BackendError::Load {
                    backend: format!("fleet:{name}"),
                    detail: "model.name must be DEVICE/MODEL for backend fleet".to_owned(),
                })?;
            let remote = spec.remote.ok_or_else(|| BackendError::Load {
                backend: format!("fleet:{name}"),
                detail: "this process is not in the fleet (only the daemon joins it)".to_owned(),
            })?;
            remote.open(device, model)
        }
        BackendKind::Replay => {
            let transcript = spec.transcript.ok_or_else(|| BackendError::Load {
                backend: "replay".to_owned(),
                detail: "model.transcript is not set".to_owned(),
            })?;
            Ok(Box::new(ReplayBackend::from_file(transcript)?))
        }
    }
}

/// Starts the managed llama-server: `model.server_bin`, else `llama-server`
/// on `PATH` (on Termux, the `llama-cpp` package's).
fn open_llama_server(
    spec: &BackendSpec<'_>,
    model: &ModelConfig,
) -> Result<Box<dyn Backend>, BackendError> {
    let path = spec.path.clone().ok_or_else(|| BackendError::Load {
        backend: "llama-server".to_owned(),
        detail: "no model file configured (model.path)".to_owned(),
    })?;
    let server_bin = spec
        .server_bin
        .cloned()
        .or_else(|| find_on_path("llama-server"))
        .ok_or_else(|| BackendError::Load {
            backend: "llama-server".to_owned(),
            detail: "llama-server is not on PATH (on Termux: `pkg install llama-cpp`); or set \
                     model.server_bin"
                .to_owned(),
        })?;
    let mut config =
        leash_llm::ManagedServerConfig::new(server_bin, path, spec.cache_dir.join("llama-server"));
    config.context_size = model.context_size;
    config.batch_size = model.batch_size;
    config.max_tokens = model.max_tokens;
    if let Some(threads) = model.threads {
        config.threads = threads;
        config.batch_threads = threads;
    }
    Ok(Box::new(leash_llm::ManagedServerBackend::start(config)?))
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(feature = "llama")]
fn open_llama(
    spec: &BackendSpec<'_>,
    model: &ModelConfig,
    cache_dir: &std::path::Path,
) -> Result<Box<dyn Backend>, BackendError> {
    let path = spec.path.clone().ok_or_else(|| BackendError::Load {
        backend: "llama".to_owned(),
        detail: "no model file configured (model.path)".to_owned(),
    })?;
    let mut config = leash_llm::LlamaConfig::new(path);
    config.context_size = model.context_size;
    config.batch_size = model.batch_size;
    config.threads = model.threads;
    config.max_tokens = model.max_tokens;
    // A restarted daemon (or the next `leash ask`) reuses the saved KV cache.
    config.session_dir = Some(cache_dir.join("llama-sessions"));
    Ok(Box::new(leash_llm::LlamaBackend::load(config)?))
}

#[cfg(not(feature = "llama"))]
fn open_llama(
    _spec: &BackendSpec<'_>,
    _model: &ModelConfig,
    _cache_dir: &std::path::Path,
) -> Result<Box<dyn Backend>, BackendError> {
    Err(BackendError::Load {
        backend: "llama".to_owned(),
        detail: "this leash was built without the embedded llama.cpp backend (cargo feature \
                 `llama`); on Termux run llama-server and use `backend: openai`"
            .to_owned(),
    })
}
