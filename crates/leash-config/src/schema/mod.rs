//! The typed config: one file per section. Each section knows its keys, its
//! defaults, and how to read itself from the marked YAML tree.

pub(crate) mod device;
#[cfg(test)]
mod documented_keys;
#[cfg(test)]
mod every_read_key;
pub(crate) mod fleet;
pub(crate) mod keys;
pub(crate) mod logging;
pub(crate) mod model;
pub(crate) mod monitoring;
pub(crate) mod runtime;
pub(crate) mod security;
pub(crate) mod security_hardening;
pub(crate) mod skills;
pub(crate) mod triggers;
pub(crate) mod undo;

use serde::{Deserialize, Serialize};

use crate::reader::Reader;
use crate::yaml_tree::Node;

use self::device::DeviceConfig;
use self::logging::LoggingConfig;
use self::model::ModelConfig;
use self::monitoring::MonitoringConfig;
use self::runtime::{AgentConfig, ApiConfig, ApprovalsConfig, DaemonConfig};
use self::security::SecurityConfig;
use self::skills::{SkillsConfig, StepModels};
use self::triggers::TriggerConfig;
use self::undo::UndoConfig;

/// The whole configuration, after defaults, the file, environment overrides and
/// `--set` flags were applied, paths expanded and made absolute.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `model:` the backend that answers, and its settings.
    pub model: ModelConfig,
    /// `security:` the policy's lists, paths, limits and sandbox layers.
    pub security: SecurityConfig,
    /// `monitoring:` the seed's watched directories and patterns.
    pub monitoring: MonitoringConfig,
    /// `logging:` the daemon's log and the audit log's mirror.
    pub logging: LoggingConfig,
    /// `agent:` the agent loop's bounds.
    pub agent: AgentConfig,
    /// `approvals:` expiry, notifier, grants and learning.
    pub approvals: ApprovalsConfig,
    /// `api:` the daemon's HTTP listener.
    pub api: ApiConfig,
    /// `daemon:` start-up and shutdown behaviour.
    pub daemon: DaemonConfig,
    /// `device:` the resource governor, wake lock and voice.
    pub device: DeviceConfig,
    /// `triggers:` named events that become jobs.
    pub triggers: Vec<TriggerConfig>,
    /// `undo:` the rollback journal's bounds.
    pub undo: UndoConfig,
    /// Named models (`models: {small: …, big: …}`), each like `model:`.
    pub models: std::collections::BTreeMap<String, ModelConfig>,
    /// `skills:` typed workflows and the routing step.
    pub skills: SkillsConfig,
    /// `step_models:` which named model each kind of step uses.
    pub step_models: StepModels,
    /// `fleet:` (issue 13); `None`: not in a fleet, nothing of it starts.
    pub fleet: Option<self::fleet::FleetConfig>,
}

/// The top-level keys: [`Config`]'s fields.
pub(crate) fn sections() -> &'static [&'static str] {
    keys::struct_keys::<Config>()
}

/// Every mapping in the schema and its keys (each list read from its struct,
/// see [`keys`]), for "it belongs in X" hints and the documentation test.
pub(crate) fn key_table() -> Vec<(&'static str, &'static [&'static str])> {
    use keys::struct_keys;
    vec![
        ("", sections()),
        ("model", ModelConfig::keys()),
        ("security", SecurityConfig::keys()),
        ("security.limits", struct_keys::<security::Limits>()),
        ("security.paths", struct_keys::<security::PathRules>()),
        ("security.sandbox", struct_keys::<security::SandboxConfig>()),
        ("monitoring", MonitoringConfig::keys()),
        ("logging", LoggingConfig::keys()),
        ("agent", AgentConfig::keys()),
        ("approvals", ApprovalsConfig::keys()),
        ("api", ApiConfig::keys()),
        ("daemon", DaemonConfig::keys()),
        ("device", DeviceConfig::keys()),
        ("triggers[]", struct_keys::<TriggerConfig>()),
        ("undo", UndoConfig::keys()),
        ("skills", SkillsConfig::keys()),
        ("step_models", StepModels::keys()),
        ("fleet", self::fleet::FleetConfig::keys()),
        ("fleet.tls", struct_keys::<self::fleet::FleetTls>()),
    ]
}

/// Dotted paths where a key of this name exists (`audit_log` → `logging.audit_log`).
pub(crate) fn where_key_belongs(name: &str) -> Vec<String> {
    key_table()
        .into_iter()
        .filter(|(_, keys)| keys.contains(&name))
        .map(|(parent, _)| {
            if parent.is_empty() {
                name.to_string()
            } else {
                format!("{parent}.{name}")
            }
        })
        .collect()
}

impl Config {
    /// Read the whole tree; problems are collected in `r`.
    pub(crate) fn read(r: &mut Reader<'_>, root: &Node) -> Config {
        let mut c = Config::default();
        let f = r.fields(root, "", sections());
        if let Some(n) = f.node("model") {
            c.model = ModelConfig::read(r, n, "model");
        }
        if let Some(n) = f.node("security") {
            c.security = SecurityConfig::read(r, n, "security");
        }
        if let Some(n) = f.node("monitoring") {
            c.monitoring = MonitoringConfig::read(r, n, "monitoring");
        }
        if let Some(n) = f.node("logging") {
            c.logging = LoggingConfig::read(r, n, "logging");
        }
        if let Some(n) = f.node("agent") {
            c.agent = AgentConfig::read(r, n, "agent");
        }
        if let Some(n) = f.node("approvals") {
            c.approvals = ApprovalsConfig::read(r, n, "approvals");
        }
        if let Some(n) = f.node("api") {
            c.api = ApiConfig::read(r, n, "api");
        }
        if let Some(n) = f.node("daemon") {
            c.daemon = DaemonConfig::read(r, n, "daemon");
        }
        if let Some(n) = f.node("device") {
            c.device = DeviceConfig::read(r, n, "device");
        }
        if let Some(n) = f.node("triggers")
            && !n.is_null()
        {
            c.triggers = triggers::read_triggers(r, n, "triggers");
        }
        if let Some(n) = f.node("undo") {
            c.undo = UndoConfig::read(r, n, "undo");
        }
        if let Some(n) = f.node("models") {
            c.models = skills::read_models(r, n, "models");
        }
        if let Some(n) = f.node("skills") {
            c.skills = SkillsConfig::read(r, n, "skills");
        }
        if let Some(n) = f.node("step_models") {
            c.step_models = StepModels::read(r, n, "step_models");
            for (key, name) in c.step_models.named() {
                if !c.models.contains_key(name) {
                    r.error(
                        &n.origin,
                        &format!("step_models.{key}"),
                        format!("{name:?} is not a key of `models:`"),
                    );
                }
            }
        }
        if let Some(n) = f.node("fleet")
            && !n.is_null()
        {
            c.fleet = self::fleet::FleetConfig::read(r, n, "fleet");
        }
        if let Some(n) = f.node("triggers") {
            for (i, trigger) in c.triggers.iter().enumerate() {
                if let Some(name) = &trigger.model
                    && !c.models.contains_key(name)
                {
                    r.error(
                        &n.origin,
                        &format!("triggers[{i}].model"),
                        format!("{name:?} is not a key of `models:`"),
                    );
                }
                if trigger.on.is_some() && c.fleet.is_none() {
                    r.error(
                        &n.origin,
                        &format!("triggers[{i}].on"),
                        "needs a `fleet:` section (the job is handed over through the fleet)",
                    );
                }
            }
        }
        c
    }
}
