//! Options every subcommand accepts.

use std::path::PathBuf;

use clap::Args;

/// Global flags. `--set` is the command-line layer of the config
/// (defaults < file < `LEASH_*` environment < command line).
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Config file (default: $LEASH_CONFIG, else $XDG_CONFIG_HOME/leash/config.yaml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print one JSON document (or JSON lines for streams) instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Override one config key, e.g. `--set security.network=true` (repeatable).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}
