//! `leash fleet audit [--device D]…`: every other device's audit chain (those
//! heard from in `fleet status`, or the ones named), read page by page
//! through the fleet and verified here: seq gapless from 1, each record's
//! `prev_hash` the previous `hash`, each `hash` recomputed. The owning device
//! only serves its records; it is not trusted to say its chain is intact.
//! Exit 0 only when every chain asked for was read and verified.
//!
//! A chain that is consistent in itself may still have been rewritten whole
//! (every hash recomputed) or cut short. So the last head verified for each
//! device (seq and hash) is remembered here, in this device's database, and
//! a later chain must extend it: hold that very hash at that seq. One that
//! does not is reported `rewound`, naming the seq.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use leash_config::LoadedConfig;
use leash_fleet::Fleet;
use leash_fleet::audit::{AuditAnswer, AuditQuestion, KIND, MAX_PAGE_RECORDS};
use leash_store::{AuditRecord, ChainHead, GENESIS_HASH, Store};
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
    /// `verified`, `tampered`, `rewound` (no longer extends the head
    /// verified before) or `unavailable`.
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
    let store = Store::open(&loaded.paths.database_file())?;
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
            let pinned = store.fleet_head(&device)?;
            let (report, head) = check_device(&fleet, &device, pinned).await;
            if let Some((seq, hash)) = head {
                store.set_fleet_head(&device, seq, &hash)?;
            }
            reports.push(report);
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
                (Some(seq), Some(problem)) if r.status == "rewound" => println!(
                    "{}: REWOUND at seq {seq}: {} ({} records read)",
                    escape_line(&r.device),
                    escape_line(problem),
                    r.records
                ),
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

/// Reads `device`'s whole chain and verifies it as it comes, against the
/// head verified before (`pinned`). With the report, the new head to
/// remember: a verified chain's last record, when it extends `pinned`.
async fn check_device(
    fleet: &Fleet,
    device: &str,
    pinned: Option<ChainHead>,
) -> (ChainReport, Option<(u64, String)>) {
    let mut chain = ChainWalk {
        pinned,
        ..ChainWalk::default()
    };
    loop {
        let question = AuditQuestion {
            after: chain.last_seq,
            limit: MAX_PAGE_RECORDS,
        };
        let answer: Result<AuditAnswer, _> = fleet.ask(device, KIND, question, PAGE_TIMEOUT).await;
        let (records, head) = match answer {
            Ok(AuditAnswer::Page { records, head }) => (records, head),
            Ok(AuditAnswer::Refused { code, reason }) => {
                return (
                    chain.unavailable(device, format!("refused ({code}): {reason}")),
                    None,
                );
            }
            Err(err) => return (chain.unavailable(device, err.to_string()), None),
        };
        if records.is_empty() {
            if chain.last_seq < head {
                chain.bad(
                    chain.last_seq + 1,
                    format!("record seq {} is missing", chain.last_seq + 1),
                );
            }
            chain.check_extends_pinned();
            return chain.finish(device);
        }
        for value in records {
            chain.push(value);
            if chain.finding.is_some() {
                return chain.finish(device);
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
    /// The head verified before, which this chain must extend.
    pinned: Option<ChainHead>,
    /// The finding is that the chain does not extend `pinned`.
    rewound: bool,
}

impl Default for ChainWalk {
    fn default() -> Self {
        ChainWalk {
            last_seq: 0,
            prev_hash: GENESIS_HASH.to_owned(),
            records: 0,
            finding: None,
            pinned: None,
            rewound: false,
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
        if let Some(pinned) = &self.pinned
            && pinned.seq == record.seq
            && pinned.hash != record.hash
        {
            let problem = format!(
                "seq {} is not the record verified here on {}: the history was rewritten",
                record.seq, pinned.verified_at
            );
            self.rewound = true;
            return self.bad(record.seq, problem);
        }
        self.last_seq = record.seq;
        self.prev_hash = record.hash;
    }

    /// At the end of a chain: it must reach the pinned head.
    fn check_extends_pinned(&mut self) {
        if self.finding.is_some() {
            return;
        }
        if let Some(pinned) = &self.pinned
            && self.last_seq < pinned.seq
        {
            let problem = format!(
                "the chain ends at seq {} but seq {} was verified here on {}: the history was cut",
                self.last_seq, pinned.seq, pinned.verified_at
            );
            let seq = pinned.seq;
            self.rewound = true;
            self.bad(seq, problem);
        }
    }

    /// The report, and the head to remember when the chain verified.
    fn finish(self, device: &str) -> (ChainReport, Option<(u64, String)>) {
        let head = (self.finding.is_none() && self.last_seq > 0)
            .then(|| (self.last_seq, self.prev_hash.clone()));
        (self.report(device), head)
    }

    fn report(self, device: &str) -> ChainReport {
        let (first_bad_seq, problem) = match self.finding {
            Some((seq, problem)) => (Some(seq), Some(problem)),
            None => (None, None),
        };
        ChainReport {
            device: device.to_owned(),
            status: match (first_bad_seq, self.rewound) {
                (Some(_), true) => "rewound",
                (Some(_), false) => "tampered",
                (None, _) => "verified",
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
