//! leash-config: leash's YAML configuration and where leash keeps its files.
//!
//! [`load`] finds the config file ([`locate_config`]), parses it into a tree that
//! remembers lines, lays the `LEASH_*` environment and `--set` overrides over it,
//! and validates everything against the schema, returning every problem at
//! once ([`ConfigErrors`]) or a typed [`Config`] with [`ConfigWarning`]s.
//! [`LeashPaths`] resolves the XDG (or Termux) directories.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod default_config;
mod env;
mod error;
mod expand;
mod load;
mod mode;
mod overrides;
mod paths;
mod reader;
mod render;
mod schema;
mod suggest;
mod yaml_enum;
mod yaml_tree;

pub use default_config::default_config_yaml;
pub use env::EnvVars;
pub use error::{ConfigError, ConfigErrors, ConfigWarning};
pub use expand::{ExpandError, absolutize, expand_path_text};
pub use load::{
    CONFIG_ENV_VAR, ConfigChoice, ConfigLocation, LoadOptions, LoadedConfig, load, locate_config,
};
pub use mode::ExecutionMode;
pub use paths::{LeashPaths, PathsError, Platform};
pub use render::{RenderError, render_yaml};
pub use schema::Config;
pub use schema::device::DeviceConfig;
pub use schema::fleet::{FleetConfig, FleetTls, is_device_name};
pub use schema::logging::{Durability, LogLevel, LoggingConfig};
pub use schema::model::{Backend, ModelConfig, ModelFallback, split_fleet_model};
pub use schema::monitoring::MonitoringConfig;
pub use schema::runtime::{AgentConfig, ApiConfig, ApprovalsConfig, DaemonConfig};
pub use schema::security::{Limits, PathRules, SandboxConfig, SandboxLayerName, SecurityConfig};
pub use schema::security_hardening::DEFAULT_PROTECTED;
pub use schema::skills::{SkillsConfig, StepModels};
pub use schema::triggers::{MissedRun, TriggerConfig, TriggerKind};
pub use schema::undo::UndoConfig;
pub use yaml_enum::{UnknownVariant, YamlEnum, parse_enum};
