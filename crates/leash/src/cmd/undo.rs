//! `leash undo`: restore what leash changed, from the rollback journal.
//!
//! `leash undo JOB` (every change of a job, newest first), `--action ENTRY`,
//! `--last`; `--dry-run` shows what would be restored; `--force` restores a
//! target that changed since (journaling its current content first, so the
//! undo can be undone); `--gc` prunes the journal. Runs locally against the
//! state database (the daemon need not run); every restore is audited.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use leash_config::LoadedConfig;
use leash_undo::{EntryStatus, Selection, UndoError, UndoOptions, UndoReport};

use crate::escape::escape_line;
use crate::exit;
use crate::global::GlobalArgs;
use crate::load_config::load_config_or_exit;

#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 restored (or would restore), 1 a target changed since leash changed it \
(nothing of that entry restored; see --force) or an error, 2 bad arguments."
)]
pub struct UndoArgs {
    /// The job whose changes to undo, newest first.
    #[arg(value_name = "JOB", conflicts_with_all = ["action", "last", "gc"])]
    pub job: Option<i64>,
    /// Undo one journal entry (the numbers `leash jobs show ID` lists).
    #[arg(long, value_name = "ENTRY", conflicts_with_all = ["last", "gc"])]
    pub action: Option<i64>,
    /// Undo the newest change that is not undone yet.
    #[arg(long, conflicts_with = "gc")]
    pub last: bool,
    /// Show what would be restored; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Restore targets that changed since leash changed them (their current
    /// content is journaled first).
    #[arg(long)]
    pub force: bool,
    /// Prune entries older than undo.keep_days, then the oldest until the
    /// journal fits undo.max_mb.
    #[arg(long)]
    pub gc: bool,
}

pub fn run(global: &GlobalArgs, args: UndoArgs) -> anyhow::Result<ExitCode> {
    let selection = match (args.job, args.action, args.last, args.gc) {
        (Some(job), None, false, false) => Some(Selection::Job(job)),
        (None, Some(entry), false, false) => Some(Selection::Entry(entry)),
        (None, None, true, false) => Some(Selection::Last),
        (None, None, false, true) => None,
        _ => {
            eprintln!("leash undo: name one of JOB, --action ENTRY, --last or --gc");
            return Ok(exit::usage());
        }
    };
    let loaded = match load_config_or_exit(global, global.overrides.clone()) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let journal = leash_core::open_journal(&loaded)?;
    let audit = leash_core::open_audit_log(&loaded)?;
    let Some(selection) = selection else {
        let report = journal.gc(&audit)?;
        audit.flush().context("flushing the audit log")?;
        if global.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            println!(
                "pruned {} entries and {} pre-images ({} KiB freed, {} KiB kept)",
                report.entries_removed,
                report.objects_removed,
                report.bytes_freed / 1024,
                report.bytes_kept / 1024
            );
        }
        return Ok(exit::success());
    };
    let options = UndoOptions {
        dry_run: args.dry_run,
        force: args.force,
        roots: roots(&loaded, selection)?,
    };
    let result = leash_undo::undo(&journal, &audit, selection, &options);
    audit.flush().context("flushing the audit log")?;
    match result {
        Ok(report) => {
            if global.json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print_report(&report, args.dry_run);
            }
            Ok(exit::success())
        }
        Err(
            err @ (UndoError::Changed { .. } | UndoError::Unsafe { .. } | UndoError::Nothing(_)),
        ) => {
            if global.json {
                println!("{}", serde_json::json!({"error": err.to_string()}));
            }
            eprintln!("leash undo: {err}");
            Ok(exit::failure())
        }
        Err(err) => Err(err.into()),
    }
}

/// Where undo may write (see [`leash_core::undo_roots`]).
fn roots(loaded: &LoadedConfig, selection: Selection) -> anyhow::Result<Vec<PathBuf>> {
    let here = std::env::current_dir().context("cannot read the current directory")?;
    let job_workspace = match selection {
        Selection::Job(id) => leash_store::Store::open(&loaded.paths.database_file())?
            .job(id)?
            .and_then(|job| job.workspace),
        Selection::Entry(_) | Selection::Last => None,
    };
    Ok(leash_core::undo_roots(
        loaded,
        &here,
        job_workspace.as_deref(),
    ))
}

fn print_report(report: &UndoReport, dry_run: bool) {
    for entry in &report.entries {
        let status = match entry.status {
            EntryStatus::Restored => "restored",
            EntryStatus::WouldRestore => "would restore",
            EntryStatus::Conflict => "CHANGED SINCE (not restorable without --force)",
            EntryStatus::AlreadyUndone => "already undone",
            EntryStatus::NotStarted => "never ran",
            EntryStatus::NotUndoable => "cannot be undone",
        };
        println!(
            "entry {} ({}): {status}  {}",
            entry.entry,
            entry.class,
            escape_line(&entry.summary.to_string())
        );
        for change in &entry.changes {
            println!("  {}  {}", change.change, escape_line(&change.path));
        }
        if let Some(note) = &entry.note {
            println!("  note: {}", escape_line(note));
        }
        if let Some(forced) = entry.forced_entry {
            println!(
                "  what --force overwrote is journal entry {forced} (`leash undo --action {forced}` puts it back)"
            );
        }
    }
    if dry_run {
        println!("dry run: nothing was changed");
    }
}
