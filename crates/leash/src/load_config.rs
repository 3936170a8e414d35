//! Loading the config the way every subcommand does: `--config`, the `LEASH_*`
//! environment and `--set` flags, with every error printed and exit status 2.

use std::process::ExitCode;

use leash_config::{LoadOptions, LoadedConfig, load};

use crate::exit;
use crate::global::GlobalArgs;

/// Loads the config with `overrides` as the command-line layer. On errors,
/// prints each one (with its key and line) to stderr and returns the exit
/// status to use. Warnings (a model file or watch directory that does not
/// exist yet) are logged at debug level: `leash config check` and `leash doctor`
/// show them; other commands should not repeat them on every run.
pub fn load_config_or_exit(
    global: &GlobalArgs,
    overrides: Vec<String>,
) -> Result<LoadedConfig, ExitCode> {
    let options = LoadOptions::from_process(global.config.clone(), overrides);
    match load(&options) {
        Ok(loaded) => {
            crate::logging::apply_config_level(loaded.config.logging.level);
            for warning in &loaded.warnings {
                tracing::debug!("{warning}");
            }
            Ok(loaded)
        }
        Err(errors) => {
            eprintln!("leash: the configuration is invalid:\n{errors}");
            Err(exit::usage())
        }
    }
}
