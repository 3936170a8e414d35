//! `model:` which language model answers, and the fallback chain.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::paths::LeashPaths;
use crate::reader::{Fields, PathRule, Reader};
use crate::yaml_enum::YamlEnum;
use crate::yaml_tree::{Node, Origin, ScalarKind, Value};

/// Where inference happens.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// llama.cpp in-process, from a GGUF file (`model.path`).
    #[default]
    Llama,
    /// Any OpenAI-compatible server (`model.base_url`): LM Studio, Ollama, llama-server.
    Openai,
    /// Plays a recorded transcript (`model.transcript`); for tests and demos.
    Replay,
    /// llama.cpp's `llama-server`, started and supervised by leash with the
    /// GGUF file (`model.path`); how a local model runs on Termux.
    LlamaServer,
    /// A model another device of the fleet offers (`name: DEVICE/MODEL`,
    /// that device's `fleet.offer_models`), reached over NATS by the daemon;
    /// the answer is parsed and judged here like a local one.
    Fleet,
}

impl YamlEnum for Backend {
    const WHAT: &'static str = "model backend";
    const ALL: &'static [Self] = &[
        Backend::Llama,
        Backend::Openai,
        Backend::Replay,
        Backend::LlamaServer,
        Backend::Fleet,
    ];
    fn yaml_name(&self) -> &'static str {
        self.as_str()
    }
}

impl Backend {
    /// The spelling in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Llama => "llama",
            Backend::Openai => "openai",
            Backend::Replay => "replay",
            Backend::LlamaServer => "llama-server",
            Backend::Fleet => "fleet",
        }
    }

    /// Whether the backend loads a GGUF file itself (`model.path`).
    pub fn uses_model_file(self) -> bool {
        match self {
            Backend::Llama | Backend::LlamaServer => true,
            Backend::Openai | Backend::Replay | Backend::Fleet => false,
        }
    }
}

/// `model:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Default `llama`.
    pub backend: Backend,
    /// GGUF file (backend `llama`). `None`: the default model in the data dir,
    /// see [`ModelConfig::effective_path`].
    pub path: Option<PathBuf>,
    /// Context window in tokens. Default 2048.
    pub context_size: u32,
    /// Sampling temperature, 0 to 2. Default 0.7.
    pub temperature: f64,
    /// Inference threads (llama). `None`: decoding uses the performance cores
    /// minus one (a phone is never idle: spin-waiting threads on busy cores
    /// collapse decode speed), prompt evaluation all of them; at most 4.
    pub threads: Option<u32>,
    /// Prompt batch size (llama). `None`: the backend's default.
    pub batch_size: Option<u32>,
    /// Cap on generated tokens per answer. `None`: the backend's default.
    pub max_tokens: Option<u32>,
    /// Server URL (openai), e.g. `http://127.0.0.1:1234/v1`.
    pub base_url: Option<String>,
    /// Model id sent to the server (openai).
    pub name: Option<String>,
    /// Name of the environment variable holding the API key (openai); the key
    /// itself never goes in the config.
    pub api_key_env: Option<String>,
    /// Recorded transcript (replay).
    pub transcript: Option<PathBuf>,
    /// The `llama-server` program (llama-server). `None`: found on `PATH`.
    pub server_bin: Option<PathBuf>,
    /// Tried in order when the primary backend fails.
    pub fallbacks: Vec<ModelFallback>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            backend: Backend::Llama,
            path: None,
            context_size: 2048,
            temperature: 0.7,
            threads: None,
            batch_size: None,
            max_tokens: None,
            base_url: None,
            name: None,
            api_key_env: None,
            transcript: None,
            server_bin: None,
            fallbacks: Vec::new(),
        }
    }
}

/// One entry of `model.fallbacks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFallback {
    /// Required.
    pub backend: Backend,
    /// As `model.base_url`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// As `model.name`.
    #[serde(default)]
    pub name: Option<String>,
    /// As `model.api_key_env`.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// As `model.path` (`None`: the default model).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// As `model.transcript`.
    #[serde(default)]
    pub transcript: Option<PathBuf>,
}

impl ModelConfig {
    /// This section's keys: its struct's fields (see `schema::keys`).
    pub(crate) fn keys() -> &'static [&'static str] {
        super::keys::struct_keys::<Self>()
    }

    /// The GGUF file the `llama` backend loads: `path`, else the default model in
    /// the data directory. `None` for other backends.
    pub fn effective_path(&self, paths: &LeashPaths) -> Option<PathBuf> {
        self.backend.uses_model_file().then(|| {
            self.path
                .clone()
                .unwrap_or_else(|| paths.default_model_file())
        })
    }

    pub(crate) fn read(r: &mut Reader<'_>, node: &Node, key: &str) -> Self {
        let mut m = ModelConfig::default();
        let f = r.fields(node, key, Self::keys());
        r.field(&f, "backend", &mut m.backend, Reader::enumeration);
        read_model_path(r, &f, m.backend, &mut m.path);
        r.field(&f, "context_size", &mut m.context_size, |r, n, k| {
            r.integer32(n, k, 1)
        });
        r.field(&f, "temperature", &mut m.temperature, |r, n, k| {
            r.number(n, k, 0.0, 2.0)
        });
        r.optional(&f, "threads", &mut m.threads, |r, n, k| {
            r.integer32(n, k, 1)
        });
        r.optional(&f, "batch_size", &mut m.batch_size, |r, n, k| {
            r.integer32(n, k, 1)
        });
        r.optional(&f, "max_tokens", &mut m.max_tokens, |r, n, k| {
            r.integer32(n, k, 1)
        });
        r.optional(&f, "base_url", &mut m.base_url, read_base_url);
        r.optional(&f, "name", &mut m.name, Reader::nonempty_string);
        r.optional(&f, "api_key_env", &mut m.api_key_env, read_env_var_name);
        r.optional(&f, "transcript", &mut m.transcript, |r, n, k| {
            r.path(n, k, PathRule::RelativeToConfig)
        });
        r.optional(&f, "server_bin", &mut m.server_bin, |r, n, k| {
            r.path(n, k, PathRule::RelativeToConfig)
        });
        r.field(&f, "fallbacks", &mut m.fallbacks, |r, n, k| {
            r.list(n, k, ModelFallback::read)
        });
        require_backend_keys(
            r,
            &f,
            m.backend,
            m.base_url.is_some(),
            m.transcript.is_some(),
        );
        check_fleet_model_name(r, &f, m.backend, m.name.as_deref());
        m
    }
}

impl ModelFallback {
    /// This section's keys: its struct's fields (see `schema::keys`).
    pub(crate) fn keys() -> &'static [&'static str] {
        super::keys::struct_keys::<Self>()
    }

    fn read(r: &mut Reader<'_>, node: &Node, key: &str) -> Option<Self> {
        let f = r.fields(node, key, Self::keys());
        let Some(backend_node) = f.node("backend") else {
            r.error(
                f.origin(),
                &f.key("backend"),
                "required: llama, openai, replay, llama-server or fleet",
            );
            return None;
        };
        let backend = r.enumeration(backend_node, &f.key("backend"))?;
        let mut fb = ModelFallback {
            backend,
            base_url: None,
            name: None,
            api_key_env: None,
            path: None,
            transcript: None,
        };
        read_model_path(r, &f, backend, &mut fb.path);
        r.optional(&f, "base_url", &mut fb.base_url, read_base_url);
        r.optional(&f, "name", &mut fb.name, Reader::nonempty_string);
        r.optional(&f, "api_key_env", &mut fb.api_key_env, read_env_var_name);
        r.optional(&f, "transcript", &mut fb.transcript, |r, n, k| {
            r.path(n, k, PathRule::RelativeToConfig)
        });
        require_backend_keys(
            r,
            &f,
            backend,
            fb.base_url.is_some(),
            fb.transcript.is_some(),
        );
        check_fleet_model_name(r, &f, backend, fb.name.as_deref());
        Some(fb)
    }
}

/// `path: ""` is an error only where a model file is needed (backend llama);
/// for other backends an empty path is ignored.
fn read_model_path(
    r: &mut Reader<'_>,
    f: &Fields<'_>,
    backend: Backend,
    slot: &mut Option<PathBuf>,
) {
    let Some(node) = f.node("path") else { return };
    let is_empty_string = matches!(&node.value, Value::Scalar(s) if s.kind == ScalarKind::Str && s.text.trim().is_empty());
    if is_empty_string {
        match backend {
            Backend::Llama | Backend::LlamaServer => r.error(
                &node.origin,
                &f.key("path"),
                format!(
                    "empty model path: backend {} needs a GGUF file (remove the key to use the default model)",
                    backend.as_str()
                ),
            ),
            Backend::Openai | Backend::Replay | Backend::Fleet => {}
        }
        return;
    }
    r.optional(f, "path", slot, |r, n, k| {
        r.path(n, k, PathRule::RelativeToConfig)
    });
}

fn require_backend_keys(
    r: &mut Reader<'_>,
    f: &Fields<'_>,
    backend: Backend,
    has_url: bool,
    has_transcript: bool,
) {
    let origin: Origin = f.origin().clone();
    match backend {
        Backend::Llama | Backend::LlamaServer => {}
        Backend::Openai if !has_url => {
            r.error(
                &origin,
                &f.key("base_url"),
                "required when the backend is openai (e.g. http://127.0.0.1:1234/v1)",
            );
        }
        Backend::Replay if !has_transcript => {
            r.error(
                &origin,
                &f.key("transcript"),
                "required when the backend is replay",
            );
        }
        Backend::Openai | Backend::Replay | Backend::Fleet => {}
    }
}

/// Backend `fleet` needs `name: DEVICE/MODEL`: the device that offers the
/// model (a valid device name) and the name it offers it under.
fn check_fleet_model_name(
    r: &mut Reader<'_>,
    f: &Fields<'_>,
    backend: Backend,
    name: Option<&str>,
) {
    match backend {
        Backend::Fleet => {}
        Backend::Llama | Backend::LlamaServer | Backend::Openai | Backend::Replay => return,
    }
    let well_formed = name.and_then(split_fleet_model).is_some();
    if !well_formed {
        let origin: Origin = f
            .node("name")
            .map(|n| n.origin.clone())
            .unwrap_or_else(|| f.origin().clone());
        r.error(
            &origin,
            &f.key("name"),
            format!(
                "backend fleet needs name: DEVICE/MODEL (e.g. laptop/big: the model `big` that device `laptop` offers), found {name:?}"
            ),
        );
    }
}

/// `DEVICE/MODEL` of a fleet backend's `name`, when both parts are there and
/// the device is a valid device name.
pub fn split_fleet_model(name: &str) -> Option<(&str, &str)> {
    let (device, model) = name.split_once('/')?;
    (crate::schema::fleet::is_device_name(device) && !model.trim().is_empty())
        .then_some((device, model))
}

fn read_base_url(r: &mut Reader<'_>, node: &Node, key: &str) -> Option<String> {
    let url = r.nonempty_string(node, key)?;
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Some(url),
        Some(_) | None => {
            r.error(
                &node.origin,
                key,
                format!("expected an http:// or https:// URL with a host, found {url:?}"),
            );
            None
        }
    }
}

fn read_env_var_name(r: &mut Reader<'_>, node: &Node, key: &str) -> Option<String> {
    let name = r.nonempty_string(node, key)?;
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric());
    if !valid {
        r.error(
            &node.origin,
            key,
            format!(
                "expected the name of an environment variable (not the key itself), found {name:?}"
            ),
        );
        return None;
    }
    Some(name)
}
