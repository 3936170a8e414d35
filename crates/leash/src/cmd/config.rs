//! `leash config check [FILE]`: validate the config and print the effective
//! values, or every error found (exit status 2). `leash config default`: print
//! the commented config `leash init` writes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use leash_config::{
    ConfigChoice, ConfigErrors, LoadOptions, LoadedConfig, default_config_yaml, load, render_yaml,
};
use serde_json::json;

use crate::exit;
use crate::global::GlobalArgs;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the config; print the effective config, or every error with its line.
    Check(CheckArgs),
    /// Print the commented default config that `leash init` writes.
    Default,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Config file to check (default: --config, else $LEASH_CONFIG, else
    /// $XDG_CONFIG_HOME/leash/config.yaml).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

pub fn run(global: &GlobalArgs, command: ConfigCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Check(args) => check(global, args),
        ConfigCommand::Default => {
            print!("{}", default_config_yaml());
            Ok(exit::success())
        }
    }
}

fn check(global: &GlobalArgs, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let file = args.file.or_else(|| global.config.clone());
    let options = LoadOptions::from_process(file, global.overrides.clone());
    match load(&options) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("warning: {warning}");
            }
            if global.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&effective_json(&loaded)?)?
                );
            } else {
                print!("{}", effective_text(&loaded)?);
            }
            Ok(exit::success())
        }
        Err(errors) => {
            report_errors(&errors, global.json)?;
            Ok(exit::usage())
        }
    }
}

fn report_errors(errors: &ConfigErrors, as_json: bool) -> anyhow::Result<()> {
    for error in errors.errors() {
        eprintln!("error: {error}");
    }
    let n = errors.len();
    eprintln!(
        "leash: the config has {n} error{}",
        if n == 1 { "" } else { "s" }
    );
    if as_json {
        let doc = json!({ "ok": false, "errors": errors.errors() });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    }
    Ok(())
}

/// Where the config came from, in words.
fn source_line(loaded: &LoadedConfig) -> String {
    match (&loaded.source, loaded.location.chosen_by) {
        (Some(path), ConfigChoice::CommandLine) => {
            format!("{} (from the command line)", path.display())
        }
        (Some(path), ConfigChoice::Environment) => {
            format!("{} (from $LEASH_CONFIG)", path.display())
        }
        (Some(path), ConfigChoice::Default) => path.display().to_string(),
        (None, ConfigChoice::CommandLine | ConfigChoice::Environment | ConfigChoice::Default) => {
            format!(
                "none: {} does not exist, so the built-in defaults apply (`leash init` writes it)",
                loaded.location.path.display()
            )
        }
    }
}

/// The effective config as YAML, preceded by comments on where things are; the
/// whole output is itself a valid config.
fn effective_text(loaded: &LoadedConfig) -> anyhow::Result<String> {
    let paths = &loaded.paths;
    let mut out = String::new();
    out.push_str("# leash effective config (defaults < file < LEASH_* environment < --set)\n");
    out.push_str(&format!("# config file: {}\n", source_line(loaded)));
    if let Some(model) = loaded.config.model.effective_path(paths) {
        out.push_str(&format!("# model file:  {}\n", model.display()));
    }
    out.push_str(&format!("# state dir:   {}\n", paths.state_dir.display()));
    out.push_str(&format!(
        "# database:    {}\n",
        paths.database_file().display()
    ));
    out.push_str(&format!(
        "# api token:   {}\n",
        paths.api_token_file().display()
    ));
    out.push_str(&format!(
        "# learned rules: {}\n",
        loaded.config.security.learned_rules_path(paths).display()
    ));
    out.push_str(&render_yaml(&loaded.config).context("rendering the effective config")?);
    Ok(out)
}

fn effective_json(loaded: &LoadedConfig) -> anyhow::Result<serde_json::Value> {
    let paths = &loaded.paths;
    Ok(json!({
        "ok": true,
        "source": loaded.source,
        "location": loaded.location,
        "paths": {
            "config_dir": paths.config_dir,
            "state_dir": paths.state_dir,
            "data_dir": paths.data_dir,
            "cache_dir": paths.cache_dir,
            "database": paths.database_file(),
            "api_token": paths.api_token_file(),
            "model_file": loaded.config.model.effective_path(paths),
            "learned_rules": loaded.config.security.learned_rules_path(paths),
            "platform": paths.platform,
        },
        "config": serde_json::to_value(&loaded.config).context("serializing the effective config")?,
        "warnings": loaded.warnings,
    }))
}
