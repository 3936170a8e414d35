//! `leash audit tail|verify|export`: read and check the tamper-evident audit log.
//!
//! Every subcommand opens the log read-only (no migration, no crash recovery,
//! never creating the database), so inspecting a log cannot change it. The
//! database is `leash.db` in the state directory; the JSONL mirror is
//! `logging.audit_log` from the config.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use leash_store::{AuditLog, AuditRecord, canonical_json};
use serde_json::json;

use crate::escape::escape_line;
use crate::exit;
use crate::global::GlobalArgs;
use crate::load_config::load_config_or_exit;

/// How often `tail --follow` looks for new records. A CLI reader, not the
/// daemon: polling the database every half second is cheap and simple.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the last records, oldest first (`--json`: one JSON object per line).
    Tail(TailArgs),
    /// Check the hash chain and the JSONL mirror against each other; exit 1 and
    /// name the first bad seq on any edited, deleted, inserted or reordered record.
    Verify,
    /// Print every record as one JSON document (always JSON).
    Export,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// How many records to print.
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 20)]
    pub lines: usize,
    /// Keep running and print records as they are appended.
    #[arg(short = 'f', long)]
    pub follow: bool,
}

pub fn run(global: &GlobalArgs, command: AuditCommand) -> anyhow::Result<ExitCode> {
    let location = match locate(global) {
        Ok(location) => location,
        Err(code) => return Ok(code),
    };
    let result = match command {
        AuditCommand::Tail(args) => tail(&location, args, global.json),
        AuditCommand::Verify => verify(&location, global.json),
        AuditCommand::Export => export(&location),
    };
    match result {
        Err(err) if is_broken_pipe(&err) => Ok(exit::success()),
        other => other,
    }
}

/// Where the audit log lives, from the config.
struct LogLocation {
    database: PathBuf,
    mirror: Option<PathBuf>,
}

impl LogLocation {
    fn open(&self) -> anyhow::Result<AuditLog> {
        AuditLog::open_read_only(&self.database, self.mirror.clone())
            .with_context(|| format!("cannot open the audit log in {}", self.database.display()))
    }
}

/// Loads the config (printing every error and giving exit status 2 if it is
/// invalid) and says where the log is.
fn locate(global: &GlobalArgs) -> Result<LogLocation, ExitCode> {
    let loaded = load_config_or_exit(global, global.overrides.clone())?;
    Ok(LogLocation {
        database: loaded.paths.database_file(),
        mirror: loaded.config.logging.audit_log,
    })
}

fn tail(location: &LogLocation, args: TailArgs, as_json: bool) -> anyhow::Result<ExitCode> {
    let mut log = location.open()?;
    let mut waiting_for_database = !location.database.exists();
    let mut out = io::stdout().lock();
    let mut last_seq = 0;
    for record in log.tail(args.lines)? {
        print_record(&mut out, &record, as_json)?;
        last_seq = record.seq;
    }
    out.flush()?;
    if !args.follow {
        return Ok(exit::success());
    }
    loop {
        std::thread::sleep(FOLLOW_INTERVAL);
        if waiting_for_database && location.database.exists() {
            log = location.open()?;
            waiting_for_database = false;
        }
        for record in log.after(last_seq)? {
            print_record(&mut out, &record, as_json)?;
            last_seq = record.seq;
        }
        out.flush()?;
    }
}

fn print_record(out: &mut impl Write, record: &AuditRecord, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        writeln!(out, "{}", serde_json::to_string(record)?)?;
    } else {
        let job = record
            .job_id
            .map_or_else(|| "-".to_owned(), |id| format!("job {id}"));
        writeln!(
            out,
            "{:>6}  {}  {:<8}  {}  {}",
            record.seq,
            record.ts,
            job,
            escape_line(&record.kind),
            escape_line(&canonical_json(&record.payload))
        )?;
    }
    Ok(())
}

fn verify(location: &LogLocation, as_json: bool) -> anyhow::Result<ExitCode> {
    let report = location.open()?.verify()?;
    let mirror = location
        .mirror
        .as_ref()
        .map(|path| path.display().to_string());
    if as_json {
        let doc = json!({
            "ok": report.ok,
            "records": report.records,
            "first_bad_seq": report.first_bad_seq,
            "problem": report.problem,
            "notes": report.notes,
            "database": location.database.display().to_string(),
            "mirror": mirror,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let mut out = io::stdout().lock();
        match (report.first_bad_seq, &report.problem) {
            (Some(seq), problem) => writeln!(
                out,
                "audit log FAILED verification at seq {seq}: {}",
                problem.as_deref().unwrap_or("(no detail)")
            )?,
            (None, _) => writeln!(
                out,
                "audit log OK: {} record(s) in {}{}",
                report.records,
                location.database.display(),
                mirror.map_or_else(String::new, |m| format!(", mirror {m}"))
            )?,
        }
        for note in &report.notes {
            writeln!(out, "note: {note}")?;
        }
    }
    if report.ok {
        Ok(exit::success())
    } else {
        Ok(exit::failure())
    }
}

fn export(location: &LogLocation) -> anyhow::Result<ExitCode> {
    let records = location.open()?.all()?;
    let doc = json!({
        "database": location.database.display().to_string(),
        "mirror": location.mirror.as_ref().map(|path| path.display().to_string()),
        "count": records.len(),
        "records": records,
    });
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)?;
    Ok(exit::success())
}

/// Whether the error is stdout closing under us (`leash audit tail | head`),
/// which ends the command quietly.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let io_kind = match cause.downcast_ref::<io::Error>() {
            Some(io) => Some(io.kind()),
            None => cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind),
        };
        io_kind == Some(io::ErrorKind::BrokenPipe)
    })
}
