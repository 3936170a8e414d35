//! `leash init [--force] [--run-as USER] [--workspace DIR]...`: write the
//! commented config, create leash's directories (mode 0700) and the HTTP API
//! token (mode 0600). As root it also sets `security.run_as` (see
//! `init_run_as`).
//!
//! Nothing existing is overwritten without `--force`, and every file is written
//! to a temporary file in the same directory, synced and renamed into place, so
//! a crash leaves either the old file or the new one, never half of one.

use std::fs::{self, DirBuilder, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use leash_config::{EnvVars, LeashPaths, LoadOptions, default_config_yaml, load, locate_config};
use serde::Serialize;

use crate::cmd::init_run_as;
use crate::exit;
use crate::global::GlobalArgs;

/// Bytes of randomness in the API token (printed as hex).
const TOKEN_BYTES: usize = 32;
const PRIVATE_DIR_MODE: u32 = 0o700;
const PRIVATE_FILE_MODE: u32 = 0o600;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing config file and API token.
    #[arg(long)]
    pub force: bool,
    /// As root: the unprivileged user commands run as (`security.run_as`);
    /// created with useradd when missing. Default: leash-run.
    #[arg(long, value_name = "USER")]
    pub run_as: Option<String>,
    /// Create this workspace directory and, as root, give it to the run_as
    /// user (repeatable).
    #[arg(long = "workspace", value_name = "DIR")]
    pub workspaces: Vec<PathBuf>,
}

/// What `init` did, for the text and JSON reports.
#[derive(Debug, Serialize)]
struct InitReport {
    config_file: PathBuf,
    token_file: PathBuf,
    /// As root: the user commands run as.
    run_as: Option<String>,
    /// Whether init created that user.
    run_as_created: bool,
    workspaces: Vec<PathBuf>,
    directories: Vec<DirReport>,
    overwritten: Vec<PathBuf>,
    warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
struct DirReport {
    path: PathBuf,
    created: bool,
}

pub fn run(global: &GlobalArgs, args: InitArgs) -> anyhow::Result<ExitCode> {
    let env = EnvVars::from_process();
    let paths = LeashPaths::from_env(&env)?;
    let options = LoadOptions {
        config_file: global.config.clone(),
        env,
        overrides: Vec::new(),
        cwd: std::env::current_dir().ok(),
    };
    let config_file = locate_config(&options, &paths).path;
    let token_file = paths.api_token_file();

    let existing: Vec<PathBuf> = [&config_file, &token_file]
        .into_iter()
        .filter(|p| fs::symlink_metadata(p).is_ok())
        .cloned()
        .collect();
    let as_root = nix::unistd::Uid::effective().is_root();
    if !as_root && args.run_as.is_some() {
        anyhow::bail!(
            "--run-as only applies when leash runs as root (commands already run as you)"
        );
    }
    // Already initialised and only asked to prepare workspaces: hand them to
    // the configured run_as user, change nothing else.
    if !existing.is_empty() && !args.force && !args.workspaces.is_empty() {
        return hand_over_only(&options, &args);
    }
    if !existing.is_empty() && !args.force {
        for path in &existing {
            eprintln!(
                "leash: init: {} already exists; use --force to overwrite it",
                path.display()
            );
        }
        return Ok(exit::usage());
    }

    let mut directories = Vec::new();
    for dir in paths.private_dirs() {
        let created = ensure_private_dir(&dir, true)?;
        directories.push(DirReport { path: dir, created });
    }
    // A config elsewhere (--config, $LEASH_CONFIG): create its directory
    // privately if missing, but never change an existing directory's mode.
    if let Some(parent) = config_file.parent()
        && !directories.iter().any(|d| d.path == parent)
    {
        let created = ensure_private_dir(parent, false)?;
        directories.push(DirReport {
            path: parent.to_path_buf(),
            created,
        });
    }

    // As root, commands never run as root: name (or create) the user they run as.
    let (run_as, run_as_created, config_text) = if as_root {
        let user = args
            .run_as
            .clone()
            .unwrap_or_else(|| init_run_as::DEFAULT_RUN_AS_USER.to_owned());
        let created = init_run_as::ensure_user(&user)?;
        let text = init_run_as::config_with_run_as(&default_config_yaml(), &user)?;
        (Some(user), created, text)
    } else {
        (None, false, default_config_yaml())
    };
    write_atomically(&config_file, config_text.as_bytes())?;
    let workspaces: Vec<&Path> = args.workspaces.iter().map(PathBuf::as_path).collect();
    match &run_as {
        Some(user) => init_run_as::hand_over_workspaces(user, &workspaces)?,
        None => {
            for ws in &workspaces {
                fs::create_dir_all(ws).with_context(|| format!("creating {}", ws.display()))?;
            }
        }
    }
    let mut token = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut token)
        .map_err(|e| anyhow::anyhow!("reading the OS random generator: {e}"))?;
    write_atomically(&token_file, hex::encode(token).as_bytes())?;

    // Load what was written, so the user learns right away what is still missing
    // (typically the model file).
    let warnings = match load(&options) {
        Ok(loaded) => loaded.warnings.iter().map(ToString::to_string).collect(),
        Err(errors) => anyhow::bail!("the config just written does not load:\n{errors}"),
    };
    let report = InitReport {
        config_file,
        token_file,
        run_as,
        run_as_created,
        workspaces: args.workspaces.clone(),
        directories,
        overwritten: existing,
        warnings,
    };
    if global.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report, &paths);
    }
    Ok(exit::success())
}

/// `leash init --workspace DIR` on an initialised machine.
fn hand_over_only(options: &LoadOptions, args: &InitArgs) -> anyhow::Result<ExitCode> {
    let loaded =
        load(options).map_err(|errors| anyhow::anyhow!("the config does not load:\n{errors}"))?;
    let workspaces: Vec<&Path> = args.workspaces.iter().map(PathBuf::as_path).collect();
    let as_root = nix::unistd::Uid::effective().is_root();
    match (&loaded.config.security.run_as, as_root) {
        (Some(user), true) => {
            init_run_as::hand_over_workspaces(user, &workspaces)?;
            for ws in &workspaces {
                println!("workspace {} (owned by {user})", ws.display());
            }
        }
        (None, true) => anyhow::bail!(
            "leash runs as root and security.run_as is not set in {}: set it (or run `leash init --force` as root) before preparing workspaces",
            loaded.location.path.display()
        ),
        (_, false) => {
            for ws in &workspaces {
                fs::create_dir_all(ws).with_context(|| format!("creating {}", ws.display()))?;
                println!("workspace {}", ws.display());
            }
        }
    }
    Ok(exit::success())
}

fn print_text(report: &InitReport, paths: &LeashPaths) {
    for dir in &report.directories {
        let verb = if dir.created { "created" } else { "exists " };
        println!("{verb} {}/", dir.path.display());
    }
    let verb = |p: &Path| {
        if report.overwritten.iter().any(|o| o == p) {
            "replaced"
        } else {
            "wrote  "
        }
    };
    println!(
        "{} {} (commented config; every key documented)",
        verb(&report.config_file),
        report.config_file.display()
    );
    println!(
        "{} {} (API token, mode 0600)",
        verb(&report.token_file),
        report.token_file.display()
    );
    if let Some(user) = &report.run_as {
        let how = if report.run_as_created {
            "created; "
        } else {
            ""
        };
        println!(
            "run_as  {user} ({how}leash runs as root, so every command runs as this unprivileged user: security.run_as)"
        );
    }
    for ws in &report.workspaces {
        match &report.run_as {
            Some(user) => println!("workspace {} (owned by {user})", ws.display()),
            None => println!("workspace {}", ws.display()),
        }
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    println!(
        "next: put a GGUF model at {} (or set model.path / model.backend), then run `leash config check`",
        paths.default_model_file().display()
    );
}

/// Create `dir` (and missing parents) with mode 0700. When `own` is set the
/// directory is leash's and its mode is tightened to 0700 even if it existed.
/// Returns whether it was created.
fn ensure_private_dir(dir: &Path, own: bool) -> anyhow::Result<bool> {
    let existed = dir.is_dir();
    if !existed {
        DirBuilder::new()
            .recursive(true)
            .mode(PRIVATE_DIR_MODE)
            .create(dir)
            .with_context(|| format!("creating directory {}", dir.display()))?;
    }
    if own || !existed {
        // The umask may have narrowed or the directory may predate leash: set exactly 0700.
        fs::set_permissions(dir, Permissions::from_mode(PRIVATE_DIR_MODE))
            .with_context(|| format!("setting mode 0700 on {}", dir.display()))?;
    }
    Ok(!existed)
}

/// Write `contents` to `path` with exactly mode 0600 through the shared
/// atomic writer (planted temp names removed, `O_EXCL`, fsync, rename,
/// directory fsync).
fn write_atomically(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let options = leash_atomic_file::Options::default().mode(PRIVATE_FILE_MODE);
    leash_atomic_file::write_with(path, options, |file| {
        // The umask may have narrowed the mode: set exactly 0600.
        file.set_permissions(Permissions::from_mode(PRIVATE_FILE_MODE))?;
        file.write_all(contents)
    })
    .with_context(|| format!("writing {}", path.display()))
}
