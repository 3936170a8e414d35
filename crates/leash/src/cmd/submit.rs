//! `leash submit [--mode M] [--priority N] [--dedup-key K] PROMPT`: queue a
//! job with the running daemon (`POST /v1/jobs`). Prints the job id, or with
//! `--json` the daemon's answer `{"job", "duplicate"}`.

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use serde_json::{Map, Value, json};

use crate::api_client::ApiClient;
use crate::exit;
use crate::global::GlobalArgs;
use crate::load_config::load_config_or_exit;

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Execution mode for this job: the configured one or stricter
    /// (auto-approve < prompt < dry-run < audit-only).
    #[arg(long, value_name = "MODE")]
    pub mode: Option<String>,
    /// Higher runs first (default 0).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub priority: Option<i64>,
    /// Submissions with the same key are one job while it is pending.
    #[arg(long, value_name = "KEY")]
    pub dedup_key: Option<String>,
    /// Hand the job to another device of the fleet (through JetStream); it
    /// runs there under that device's own config and policy.
    #[arg(long, value_name = "DEVICE", conflicts_with_all = ["priority", "dedup_key"])]
    pub on: Option<String>,
    /// The instruction for the model (several words are joined with spaces).
    #[arg(required = true, num_args = 1.., value_name = "PROMPT")]
    pub prompt: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let prompt = args.prompt.join(" ");
    if prompt.trim().is_empty() {
        bail!("the prompt is empty");
    }
    if let Some(device) = &args.on {
        return crate::cmd::fleet::submit_on(global, device, &prompt, args.mode);
    }
    let loaded = match load_config_or_exit(global, global.overrides.clone()) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let client = ApiClient::from_config(&loaded)?;
    let mut body = Map::new();
    body.insert("prompt".into(), json!(prompt));
    if let Some(mode) = args.mode {
        body.insert("mode".into(), json!(mode));
    }
    if let Some(priority) = args.priority {
        body.insert("priority".into(), json!(priority));
    }
    if let Some(key) = args.dedup_key {
        body.insert("dedup_key".into(), json!(key));
    }
    let answer = client.post("/v1/jobs", Some(&Value::Object(body)))?;
    if global.json {
        println!("{answer}");
        return Ok(exit::success());
    }
    let id = &answer["job"]["id"];
    println!("{id}");
    if answer["duplicate"] == json!(true) {
        eprintln!("leash: job {id} with this dedup key was already pending; not queued twice");
    }
    Ok(exit::success())
}
