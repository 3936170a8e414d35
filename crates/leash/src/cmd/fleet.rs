//! `leash fleet status` (the devices of the fleet, what each offers, when each
//! was last heard) and `leash submit --on DEVICE` (a job for another device,
//! handed over through JetStream). Both connect to NATS themselves with this
//! device's `fleet:` settings; the daemon need not run.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use leash_config::LoadedConfig;
use leash_fleet::{Fleet, JobRequest, PROTOCOL_VERSION};
use serde_json::json;

use crate::exit;
use crate::global::GlobalArgs;
use crate::load_config::load_config_or_exit;

/// How long the CLI waits for the NATS server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// The devices seen, what each offers and when each was last heard from.
    Status(FleetStatusArgs),
    /// Reads the other devices' audit chains through the fleet and verifies
    /// each here (they must trust this device).
    Audit(crate::cmd::fleet_audit::FleetAuditArgs),
}

#[derive(Debug, Args)]
pub struct FleetStatusArgs {}

pub fn run(global: &GlobalArgs, command: FleetCommand) -> anyhow::Result<ExitCode> {
    let loaded = match load_config_or_exit(global, global.overrides.clone()) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    match command {
        FleetCommand::Status(_) => status(global, &loaded),
        FleetCommand::Audit(args) => crate::cmd::fleet_audit::run(global, &loaded, args),
    }
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub(crate) async fn join(loaded: &LoadedConfig) -> anyhow::Result<Fleet> {
    let Some(config) = &loaded.config.fleet else {
        bail!("this device is not in a fleet: the config has no `fleet:` section");
    };
    Ok(leash_fleet::connect(config, CONNECT_TIMEOUT).await?)
}

fn status(global: &GlobalArgs, loaded: &LoadedConfig) -> anyhow::Result<ExitCode> {
    let devices = runtime()?.block_on(async {
        let fleet = join(loaded).await?;
        anyhow::Ok(fleet.devices().await?)
    })?;
    if global.json {
        println!("{}", json!({"devices": devices}));
        return Ok(exit::success());
    }
    if devices.is_empty() {
        println!("no device has been heard from yet");
        return Ok(exit::success());
    }
    println!(
        "{:<16} {:<26} {:>7}  {:<7} {:<9} {:<20} PROGRAMS",
        "DEVICE", "LAST HEARD", "AGE", "PERSON", "JOBS", "MODELS"
    );
    for d in devices {
        let jobs = if d.offer.accepts_jobs {
            d.offer.accept_mode.clone()
        } else {
            "refused".to_owned()
        };
        println!(
            "{:<16} {:<26} {:>6}s  {:<7} {:<9} {:<20} {}",
            d.device,
            d.last_heard,
            d.age_s,
            if d.offer.person_reachable {
                "yes"
            } else {
                "no"
            },
            jobs,
            d.offer.models.join(","),
            d.offer.programs.join(",")
        );
    }
    Ok(exit::success())
}

/// `leash submit --on DEVICE`: prints the message id once the jobs stream has
/// stored the job (the device admits it when it next pulls; its end comes back
/// to this device's daemon, audited as `fleet.job.ended`).
pub fn submit_on(
    global: &GlobalArgs,
    device: &str,
    prompt: &str,
    mode: Option<String>,
) -> anyhow::Result<ExitCode> {
    leash_fleet::subjects::device(device)?;
    if let Some(mode) = &mode {
        leash_config::parse_enum::<leash_config::ExecutionMode>(mode)
            .map_err(|e| anyhow::anyhow!("--mode: {e}"))?;
    }
    let loaded = match load_config_or_exit(global, global.overrides.clone()) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let sent = runtime()?.block_on(async {
        let fleet = join(&loaded).await?;
        let request = JobRequest {
            v: PROTOCOL_VERSION,
            from: fleet.config.device.clone(),
            to: device.to_owned(),
            msg_id: leash_fleet::jobs::new_msg_id()?,
            prompt: prompt.to_owned(),
            mode,
            sent_at: leash_fleet::envelope::now(),
            payload: None,
        };
        anyhow::Ok(fleet.send_job(&request).await?)
    })?;
    if global.json {
        println!("{}", json!({"sent": sent}));
    } else {
        println!("{}", sent.msg_id);
    }
    Ok(exit::success())
}
