//! `leash approvals --on DEVICE` and `leash approve|deny --on DEVICE ID`:
//! another device's approval requests, through the fleet. That device must
//! trust this one (`fleet.trusted`) and decides itself: nonce, expiry, first
//! answer wins, audited there as channel `fleet` by `fleet:<this device>:…`.

use anyhow::bail;
use leash_config::LoadedConfig;
use leash_fleet::approvals::ApprovalAnswer;
use serde_json::{Value, json};
use std::process::ExitCode;

use crate::api_client::ApiClient;

use crate::cmd::approvals::command_line;
use crate::cmd::fleet::{join, runtime};
use crate::escape::escape_line;
use crate::exit;
use crate::global::GlobalArgs;

pub use leash_fleet::approvals::Decision;

/// The pending requests of other devices that this device's daemon was told
/// about (`GET /v1/fleet/approvals`); none when the daemon is older or the
/// route fails (the local list still prints).
pub(crate) fn told_here(client: &ApiClient) -> Vec<Value> {
    client
        .get("/v1/fleet/approvals")
        .ok()
        .and_then(|answer| answer["approvals"].as_array().cloned())
        .unwrap_or_default()
}

/// Prints [`told_here`]'s requests, each marked with its owning device and
/// the command that answers it.
pub(crate) fn print_told_here(remote: &[Value]) {
    for approval in remote {
        let device = escape_line(approval["device"].as_str().unwrap_or("?"));
        let id = approval["id"].as_i64().unwrap_or(0);
        println!(
            "{:>6}  on {:<10}  {:<19}  {}",
            id,
            device,
            escape_line(approval["expires_at"].as_str().unwrap_or(""))
                .chars()
                .take(19)
                .collect::<String>(),
            command_line(&approval["argv"]),
        );
        println!(
            "        answer: `leash approve --on {device} {id}` or `leash deny --on {device} {id}`"
        );
    }
}

pub fn list_on(
    global: &GlobalArgs,
    loaded: &LoadedConfig,
    device: &str,
) -> anyhow::Result<ExitCode> {
    let approvals =
        runtime()?.block_on(async { anyhow::Ok(join(loaded).await?.pending_on(device).await?) })?;
    if global.json {
        println!("{}", json!({"device": device, "approvals": approvals}));
        return Ok(exit::success());
    }
    if approvals.is_empty() {
        println!("no approval requests pending on {}", escape_line(device));
        return Ok(exit::success());
    }
    println!("{:>6}  {:>6}  {:<19}  COMMAND", "ID", "JOB", "EXPIRES");
    for approval in &approvals {
        println!(
            "{:>6}  {:>6}  {:<19}  {}",
            approval.id,
            approval.job_id.map(|j| j.to_string()).unwrap_or_default(),
            escape_line(&approval.expires_at)
                .chars()
                .take(19)
                .collect::<String>(),
            command_line(&json!(approval.argv)),
        );
    }
    Ok(exit::success())
}

pub fn decide_on(
    global: &GlobalArgs,
    loaded: &LoadedConfig,
    device: &str,
    decision: Decision,
) -> anyhow::Result<ExitCode> {
    let answer = runtime()?
        .block_on(async { anyhow::Ok(join(loaded).await?.decide_on(device, decision).await?) })?;
    match answer {
        ApprovalAnswer::Decided { id, state } => {
            if global.json {
                println!("{}", json!({"device": device, "id": id, "state": state}));
            } else {
                println!(
                    "approval {id} on {} {}",
                    escape_line(device),
                    escape_line(&state)
                );
            }
            Ok(exit::success())
        }
        ApprovalAnswer::Refused { code, reason } => {
            eprintln!(
                "leash: {} refused ({}): {}",
                escape_line(device),
                escape_line(&code),
                escape_line(&reason)
            );
            Ok(exit::failure())
        }
        ApprovalAnswer::Pending { .. } => bail!("{device} answered a question it was not asked"),
    }
}
