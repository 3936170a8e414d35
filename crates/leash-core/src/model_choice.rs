//! Which model each step uses (the seed's "switch between models"): named
//! models in `models:`, chosen per trigger, per skill and per kind of step
//! (`step_models`: routing on a small one, open planning on a big one), each
//! behind the usual fallback chain with `model:` as its last resort — so a
//! big model that is not reachable hands the step to the default one.

use std::collections::BTreeMap;

use leash_config::{LoadedConfig, ModelConfig, ModelFallback};
use leash_llm::{Backend, BackendError};

use crate::backends::{SharedRemoteModels, SwitchLog, open_backend, open_backend_with};

/// The kinds of step that may use different models. Closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Which skill handles a request, or the open loop.
    Route,
    /// A skill's question.
    Skill,
    /// Open planning (the agent loop).
    Plan,
}

/// The named model for a step: the first of `preferred` that is set (a
/// trigger's or a skill's `model:`), else `step_models` for the kind, else
/// `None` (the `model:` section).
pub fn model_name_for(
    loaded: &LoadedConfig,
    step: StepKind,
    preferred: &[Option<&str>],
) -> Option<String> {
    let by_step = match step {
        StepKind::Route => loaded.config.step_models.route.as_deref(),
        StepKind::Skill => loaded.config.step_models.skill.as_deref(),
        StepKind::Plan => loaded.config.step_models.plan.as_deref(),
    };
    preferred
        .iter()
        .copied()
        .flatten()
        .chain(by_step)
        .find(|name| loaded.config.models.contains_key(*name))
        .map(str::to_owned)
}

/// The config whose `model:` is the named model, with the `model:` section
/// (and its fallbacks) appended to its fallbacks. `None` or an unknown name:
/// the config as it is.
pub fn config_for_model(loaded: &LoadedConfig, name: Option<&str>) -> LoadedConfig {
    let mut out = loaded.clone();
    let Some(named) = name.and_then(|name| loaded.config.models.get(name)) else {
        return out;
    };
    let default = &loaded.config.model;
    let mut model: ModelConfig = named.clone();
    model.fallbacks.push(ModelFallback {
        backend: default.backend,
        base_url: default.base_url.clone(),
        name: default.name.clone(),
        api_key_env: default.api_key_env.clone(),
        path: default.path.clone(),
        transcript: default.transcript.clone(),
    });
    model.fallbacks.extend(default.fallbacks.iter().cloned());
    out.config.model = model;
    out
}

/// Opens the backend for `step` (see [`model_name_for`]).
pub fn open_step_backend(
    loaded: &LoadedConfig,
    step: StepKind,
    preferred: &[Option<&str>],
) -> Result<(Box<dyn Backend>, SwitchLog), BackendError> {
    let name = model_name_for(loaded, step, preferred);
    open_backend(&config_for_model(loaded, name.as_deref()))
}

/// Backends opened on first use and kept for the job, by model name (`None`:
/// the `model:` section), so a job that routes, asks a skill and plans opens
/// each model once.
#[derive(Default)]
pub struct BackendPool {
    opened: BTreeMap<Option<String>, (Box<dyn Backend>, SwitchLog)>,
    /// How fleet models are reached (the daemon's, when it is in a fleet).
    remote: Option<SharedRemoteModels>,
}

impl std::fmt::Debug for BackendPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendPool")
            .field("opened", &self.opened.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl BackendPool {
    /// A pool that already holds the backend of `name`.
    pub fn with(name: Option<String>, backend: Box<dyn Backend>, switches: SwitchLog) -> Self {
        let mut pool = BackendPool::default();
        pool.opened.insert(name, (backend, switches));
        pool
    }

    /// An empty pool whose fleet models (backend `fleet`) go through `remote`.
    pub fn with_remote(remote: Option<SharedRemoteModels>) -> Self {
        BackendPool {
            opened: BTreeMap::new(),
            remote,
        }
    }

    /// The backend for `step`, opening it on first use.
    pub fn for_step(
        &mut self,
        loaded: &LoadedConfig,
        step: StepKind,
        preferred: &[Option<&str>],
    ) -> Result<(&mut dyn Backend, SwitchLog), BackendError> {
        let name = model_name_for(loaded, step, preferred);
        if !self.opened.contains_key(&name) {
            let opened = open_backend_with(
                &config_for_model(loaded, name.as_deref()),
                self.remote.as_ref(),
            )?;
            self.opened.insert(name.clone(), opened);
        }
        match self.opened.get_mut(&name) {
            Some((backend, switches)) => Ok((backend.as_mut(), switches.clone())),
            None => Err(BackendError::Load {
                backend: name.unwrap_or_else(|| "model".to_owned()),
                detail: "the backend was not kept".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn loaded(yaml: &str) -> LoadedConfig {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.yaml");
        std::fs::write(&file, yaml).unwrap();
        let options = leash_config::LoadOptions::from_process(Some(file), Vec::new());
        leash_config::load(&options).unwrap()
    }

    const TWO_MODELS: &str = "
model: { backend: replay, transcript: /tmp/default.yaml }
models:
  small: { backend: replay, transcript: /tmp/small.yaml }
  big: { backend: openai, base_url: 'http://127.0.0.1:9/v1', name: big }
step_models: { route: small, plan: big }
";

    #[test]
    fn each_step_kind_takes_its_named_model_and_a_preference_comes_first() {
        let l = loaded(TWO_MODELS);
        assert_eq!(
            model_name_for(&l, StepKind::Route, &[]).as_deref(),
            Some("small")
        );
        assert_eq!(
            model_name_for(&l, StepKind::Plan, &[]).as_deref(),
            Some("big")
        );
        assert_eq!(model_name_for(&l, StepKind::Skill, &[]), None);
        assert_eq!(
            model_name_for(&l, StepKind::Plan, &[None, Some("small")]).as_deref(),
            Some("small")
        );
    }

    #[test]
    fn a_named_model_falls_back_to_the_model_section() {
        let l = loaded(TWO_MODELS);
        let big = config_for_model(&l, Some("big"));
        assert_eq!(big.config.model.name.as_deref(), Some("big"));
        let last = big.config.model.fallbacks.last().unwrap();
        assert_eq!(
            last.transcript.as_deref(),
            Some(std::path::Path::new("/tmp/default.yaml"))
        );
    }
}
