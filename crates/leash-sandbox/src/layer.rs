//! The sandbox layers, their probed state, and the report `leash doctor` prints
//! and every execution's audit record names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One protection the executor can put around a child. The order is the order in
/// which they are applied (and listed by `leash doctor`). The snake_case names are
/// the ones `security.sandbox.require` uses in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// The absolute program is exec'd with an argv; no shell, no PATH lookup.
    Exec,
    /// The working directory is fixed by the spec.
    Cwd,
    /// stdin is `/dev/null`: the child can never wait on a person.
    StdinNull,
    /// The environment is cleared and replaced by a fixed, scrubbed one.
    EnvScrub,
    /// A new process group; at the wall-clock timeout the whole group is killed.
    ProcessGroup,
    /// CPU, address space, file size, open files, core=0, NPROC relative to use.
    Rlimits,
    /// stdout and stderr are kept up to a cap; the rest is counted and dropped.
    OutputCap,
    /// `PR_SET_NO_NEW_PRIVS`: setuid binaries and file capabilities gain nothing.
    NoNewPrivs,
    /// Landlock: writes only under write roots, reads restricted, TCP denied.
    Landlock,
    /// seccomp filter: no ptrace, mount, namespaces, kexec, bpf, keyctl, ... .
    Seccomp,
    /// A cgroup v2 of its own per command: killed whole with `cgroup.kill`
    /// (descendants that left the process group included), with `pids.max`,
    /// `memory.max` and `cpu.max` where those controllers are enabled.
    Cgroup,
}

impl Layer {
    /// Every layer, in application order.
    pub const ALL: [Layer; 11] = [
        Layer::Exec,
        Layer::Cwd,
        Layer::StdinNull,
        Layer::EnvScrub,
        Layer::ProcessGroup,
        Layer::Rlimits,
        Layer::OutputCap,
        Layer::NoNewPrivs,
        Layer::Landlock,
        Layer::Seccomp,
        Layer::Cgroup,
    ];

    /// The config / JSON name of the layer.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Exec => "exec",
            Layer::Cwd => "cwd",
            Layer::StdinNull => "stdin_null",
            Layer::EnvScrub => "env_scrub",
            Layer::ProcessGroup => "process_group",
            Layer::Rlimits => "rlimits",
            Layer::OutputCap => "output_cap",
            Layer::NoNewPrivs => "no_new_privs",
            Layer::Landlock => "landlock",
            Layer::Seccomp => "seccomp",
            Layer::Cgroup => "cgroup",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A layer name that is not one of [`Layer::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown sandbox layer `{name}` (known: exec, cwd, stdin_null, env_scrub, process_group, rlimits, output_cap, no_new_privs, landlock, seccomp, cgroup)"
)]
pub struct UnknownLayer {
    /// The name as written.
    pub name: String,
}

impl FromStr for Layer {
    type Err = UnknownLayer;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Layer::ALL
            .into_iter()
            .find(|layer| layer.as_str() == name)
            .ok_or_else(|| UnknownLayer {
                name: name.to_owned(),
            })
    }
}

/// Whether a layer can be applied on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LayerState {
    /// The layer is applied to every child.
    Active,
    /// The layer cannot be applied here; `why` says what the probe found.
    Unavailable {
        /// What the probe found, e.g. "kernel has no Landlock (ENOSYS)".
        why: String,
    },
}

/// One layer's probed state plus a human detail such as "landlock ABI 7".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerStatus {
    /// Which layer.
    pub layer: Layer,
    /// Active or unavailable (with the reason).
    #[serde(flatten)]
    pub state: LayerState,
    /// Extra facts, e.g. the Landlock ABI or "RLIMIT_NPROC is not enforced for root".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl LayerStatus {
    /// An active layer without detail.
    pub fn active(layer: Layer) -> Self {
        LayerStatus {
            layer,
            state: LayerState::Active,
            detail: None,
        }
    }

    /// An unavailable layer with the reason.
    pub fn unavailable(layer: Layer, why: impl Into<String>) -> Self {
        LayerStatus {
            layer,
            state: LayerState::Unavailable { why: why.into() },
            detail: None,
        }
    }

    /// The same status with a detail attached.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// True when the layer is applied.
    pub fn is_active(&self) -> bool {
        matches!(self.state, LayerState::Active)
    }
}

/// What [`crate::probe`] found: each layer's state and the platform facts that
/// decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerReport {
    /// One entry per layer, in [`Layer::ALL`] order.
    pub layers: Vec<LayerStatus>,
    /// `uname`: system, release and machine, e.g. "Linux 6.18.44 x86_64".
    pub kernel: String,
    /// Running inside Termux.
    pub termux: bool,
    /// Android's `ro.build.version.sdk`, read only when Android/Termux is detected.
    pub android_sdk: Option<u32>,
}

impl LayerReport {
    /// The status of one layer; a layer missing from the report counts as
    /// unavailable (fail closed).
    pub fn status(&self, layer: Layer) -> LayerStatus {
        self.layers
            .iter()
            .find(|status| status.layer == layer)
            .cloned()
            .unwrap_or_else(|| LayerStatus::unavailable(layer, "not probed"))
    }

    /// True when the layer was probed and is active.
    pub fn is_active(&self, layer: Layer) -> bool {
        self.layers
            .iter()
            .any(|status| status.layer == layer && status.is_active())
    }

    /// The active layers, in application order.
    pub fn active_layers(&self) -> Vec<Layer> {
        Layer::ALL
            .into_iter()
            .filter(|layer| self.is_active(*layer))
            .collect()
    }

    /// The required layers that are not active, each with the reason.
    pub fn missing(&self, required: &[Layer]) -> Vec<(Layer, String)> {
        let mut missing: Vec<(Layer, String)> = Vec::new();
        for layer in required {
            if missing.iter().any(|(seen, _)| seen == layer) {
                continue;
            }
            match self.status(*layer).state {
                LayerState::Active => {}
                LayerState::Unavailable { why } => missing.push((*layer, why)),
            }
        }
        missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str_and_serde() {
        for layer in Layer::ALL {
            assert_eq!(layer.as_str().parse::<Layer>().unwrap(), layer);
            let json = serde_json::to_string(&layer).unwrap();
            assert_eq!(json, format!("\"{}\"", layer.as_str()));
        }
        assert!("landlok".parse::<Layer>().is_err());
    }

    #[test]
    fn status_serializes_flat_with_state_tag() {
        let status = LayerStatus::unavailable(Layer::Landlock, "ENOSYS");
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"layer": "landlock", "state": "unavailable", "why": "ENOSYS"})
        );
        let back: LayerStatus = serde_json::from_value(json).unwrap();
        assert_eq!(back, status);
    }

    #[test]
    fn missing_lists_unavailable_and_unprobed_required_layers_once() {
        let report = LayerReport {
            layers: vec![
                LayerStatus::active(Layer::Seccomp),
                LayerStatus::unavailable(Layer::Landlock, "ENOSYS"),
            ],
            kernel: "Linux".into(),
            termux: false,
            android_sdk: None,
        };
        let missing = report.missing(&[
            Layer::Seccomp,
            Layer::Landlock,
            Layer::Landlock,
            Layer::Rlimits,
        ]);
        assert_eq!(
            missing,
            vec![
                (Layer::Landlock, "ENOSYS".to_owned()),
                (Layer::Rlimits, "not probed".to_owned())
            ]
        );
    }
}
