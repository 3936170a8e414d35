//! `leash fleet audit [--device D]…`: every other device's audit chain (those
//! heard from in `fleet status`, or the ones named), read page by page
//! through the fleet and verified here: seq gapless from 1, each record's
//! `prev_hash` the previous `hash`, each `hash` recomputed. The owning device
//! only serves its records; it is not trusted to say its chain is intact.
//! Exit 0 only when every chain asked for was read and verified.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use leash_config::LoadedConfig;
use leash_fleet::Fleet;
use leash_fleet::audit::{AuditAnswer, AuditQuestion, KIND, MAX_PAGE_RECORDS};
use leash_store::{AuditRecord, GENESIS_HASH};
use serde::Serialize;
use serde_json::json;

use crate::cmd::fleet::{join, runtime};
use crate::escape::escape_line;
use crate::exit;
use crate::global::GlobalArgs;

/// How long one page may take to come.
const PAGE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Args)]
pub struct FleetAuditArgs {
    /// Only this device (repeatable). Default: every device heard from.
    #[arg(long = "device", value_name = "DEVICE")]
    pub devices: Vec<String>,
}

/// One device's chain as verified here.
#[derive(Debug, Serialize)]
struct ChainReport {
    device: String,
    /// `verified`, `tampered` or `unavailable`.
    status: &'static str,
    records: u64,
    first_bad_seq: Option<u64>,
    problem: Option<String>,
}

pub fn run(
    global: &GlobalArgs,
    loaded: &LoadedConfig,
    args: FleetAuditArgs,
) -> anyhow::Result<ExitCode> {
    let reports = runtime()?.block_on(async {
        let fleet = join(loaded).await?;
        let devices = if args.devices.is_empty() {
            fleet
                .devices()
                .await?
                .into_iter()
                .map(|d| d.device)
                .filter(|d| *d != fleet.config.device)
                .collect()
        } else {
            args.devices.clone()
        };
        let mut reports = Vec::new();
        for device in devices {
            leash_fleet::subjects::device(&device)?;
            reports.push(check_device(&fleet, &device).await);
        }
        anyhow::Ok(reports)
    })?;
    let all_verified = reports.iter().all(|r| r.status == "verified");
    if global.json {
        println!("{}", json!({"ok": all_verified, "devices": reports}));
    } else if reports.is_empty() {
        println!("no other device has been heard from yet");
    } else {
        for r in &reports {
            match (&r.first_bad_seq, &r.problem) {
                (Some(seq), Some(problem)) => println!(
                    "{}: TAMPERED at seq {seq}: {} ({} records read)",
                    escape_line(&r.device),
                    escape_line(problem),
                    r.records
                ),
                (_, Some(problem)) => println!(
                    "{}: unavailable: {}",
                    escape_line(&r.device),
                    escape_line(problem)
                ),
                _ => println!(
                    "{}: verified, {} records",
                    escape_line(&r.device),
                    r.records
                ),
            }
        }
    }
    Ok(if all_verified {
        exit::success()
    } else {
        exit::failure()
    })
}

/// Reads `device`'s whole chain and verifies it as it comes.
async fn check_device(fleet: &Fleet, device: &str) -> ChainReport {
    let mut chain = ChainWalk::default();
    loop {
        let question = AuditQuestion {
            after: chain.last_seq,
            limit: MAX_PAGE_RECORDS,
        };
        let answer: Result<AuditAnswer, _> = fleet.ask(device, KIND, question, PAGE_TIMEOUT).await;
        let (records, head) = match answer {
            Ok(AuditAnswer::Page { records, head }) => (records, head),
            Ok(AuditAnswer::Refused { code, reason }) => {
                return chain.unavailable(device, format!("refused ({code}): {reason}"));
            }
            Err(err) => return chain.unavailable(device, err.to_string()),
        };
        if records.is_empty() {
            if chain.last_seq < head {
                chain.bad(
                    chain.last_seq + 1,
                    format!("record seq {} is missing", chain.last_seq + 1),
                );
            }
            return chain.report(device);
        }
        for value in records {
            chain.push(value);
            if chain.finding.is_some() {
                return chain.report(device);
            }
        }
    }
}

/// The chain walk: what the local `leash audit verify` checks in the
/// database (leash-store's walk is over its own SQLite connection, so the
/// same three rules are applied here to records that arrive by the page).
struct ChainWalk {
    last_seq: u64,
    prev_hash: String,
    records: u64,
    finding: Option<(u64, String)>,
}

impl Default for ChainWalk {
    fn default() -> Self {
        ChainWalk {
            last_seq: 0,
            prev_hash: GENESIS_HASH.to_owned(),
            records: 0,
            finding: None,
        }
    }
}

impl ChainWalk {
    fn bad(&mut self, seq: u64, problem: String) {
        self.finding.get_or_insert((seq, problem));
    }

    fn push(&mut self, value: serde_json::Value) {
        let expected = self.last_seq + 1;
        let record: AuditRecord = match serde_json::from_value(value) {
            Ok(record) => record,
            Err(err) => return self.bad(expected, format!("unreadable record: {err}")),
        };
        self.records += 1;
        if record.seq != expected {
            return self.bad(
                expected,
                format!("seq {} where seq {expected} belongs", record.seq),
            );
        }
        if record.prev_hash != self.prev_hash {
            return self.bad(
                expected,
                "prev_hash is not the previous record's hash".to_owned(),
            );
        }
        if !record.hash_is_valid() {
            return self.bad(expected, "the hash does not match the record".to_owned());
        }
        self.last_seq = record.seq;
        self.prev_hash = record.hash;
    }

    fn report(self, device: &str) -> ChainReport {
        let (first_bad_seq, problem) = match self.finding {
            Some((seq, problem)) => (Some(seq), Some(problem)),
            None => (None, None),
        };
        ChainReport {
            device: device.to_owned(),
            status: if first_bad_seq.is_some() {
                "tampered"
            } else {
                "verified"
            },
            records: self.records,
            first_bad_seq,
            problem,
        }
    }

    fn unavailable(self, device: &str, problem: String) -> ChainReport {
        ChainReport {
            device: device.to_owned(),
            status: "unavailable",
            records: self.records,
            first_bad_seq: None,
            problem: Some(problem),
        }
    }
}
