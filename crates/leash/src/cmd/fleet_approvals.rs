//! `leash approvals --on DEVICE` and `leash approve|deny --on DEVICE ID`:
//! another device's approval requests, through the fleet. That device must
//! trust this one (`fleet.trusted`) and decides itself: nonce, expiry, first
//! answer wins, audited there as channel `fleet` by `fleet:<this device>:…`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use leash_config::LoadedConfig;
use leash_fleet::approvals::{ApprovalAnswer, ApprovalQuestion, KIND, PendingApproval};
use serde_json::json;

use crate::cmd::approvals::command_line;
use crate::cmd::fleet::{join, runtime};
use crate::escape::escape_line;
use crate::exit;
use crate::global::GlobalArgs;

/// How long the CLI waits for the other device's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// An answer to give on another device.
#[derive(Debug)]
pub struct Decision {
    pub id: i64,
    /// `None`: taken from the device's listing.
    pub nonce: Option<String>,
    pub approve: bool,
    pub by: String,
    pub reason: Option<String>,
}

async fn ask(
    loaded: &LoadedConfig,
    device: &str,
    question: ApprovalQuestion,
) -> anyhow::Result<ApprovalAnswer> {
    let fleet = join(loaded).await?;
    Ok(fleet.ask(device, KIND, question, ANSWER_TIMEOUT).await?)
}

fn pending(answer: ApprovalAnswer, device: &str) -> anyhow::Result<Vec<PendingApproval>> {
    match answer {
        ApprovalAnswer::Pending { approvals } => Ok(approvals),
        ApprovalAnswer::Refused { code, reason } => bail!("{device} refused ({code}): {reason}"),
        ApprovalAnswer::Decided { .. } => bail!("{device} answered a question it was not asked"),
    }
}

pub fn list_on(
    global: &GlobalArgs,
    loaded: &LoadedConfig,
    device: &str,
) -> anyhow::Result<ExitCode> {
    let answer = runtime()?.block_on(ask(loaded, device, ApprovalQuestion::List))?;
    let approvals = pending(answer, device)?;
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
    let answer = runtime()?.block_on(async {
        let nonce = match decision.nonce {
            Some(nonce) => nonce,
            None => {
                let listed = pending(ask(loaded, device, ApprovalQuestion::List).await?, device)?;
                match listed.into_iter().find(|a| a.id == decision.id) {
                    Some(approval) => approval.nonce,
                    None => bail!("{device} has no pending approval request {}", decision.id),
                }
            }
        };
        let question = ApprovalQuestion::Decide {
            id: decision.id,
            nonce,
            approve: decision.approve,
            by: decision.by,
            reason: decision.reason,
        };
        ask(loaded, device, question).await
    })?;
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
