//! Journaling overhead per action, as a ratio to the same action
//! unjournaled, measured in one run on one filesystem (a temp dir under the
//! target directory: real disk, not tmpfs). Iterations alternate between the
//! two so drift hits both alike; medians are reported.
//!
//! Each journaled action does what the engine does: plan, pre-images and
//! entry ([`Journal::prepare`]), one sync before the change (shared with the
//! action's own file for `write_file`), the `undo.journaled` record grouped
//! with the record the action writes anyway, then the after-images.
//!
//! - `write_file` of 1 MiB: leash's in-process atomic write (temp file,
//!   sync, rename) and its `file.written` record — the cheapest action, so
//!   the hardest ratio; also without the record on the plain side (`file
//!   only`: the strictest comparison);
//! - `sed -i` on a 1 MiB file: a journaled `run` (a real process) with its
//!   `command.started` record;
//! - `touch` on a 100 MiB file: over `undo.max_file_mb`, kept by hard link.
//!
//! Run with `cargo bench -p leash-undo --bench journal_overhead`.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use leash_store::AuditKind;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use leash_policy::{WriteTarget, WriteTargets};
use leash_store::{AuditEntry, AuditLog, AuditOptions};
use leash_undo::{Barrier, EntryContext, Journal, UndoSettings, WriteMode};

const ROUNDS: usize = 25;
const MIB: usize = 1024 * 1024;

struct Bench {
    journal: Journal,
    audit: AuditLog,
}

fn record(kind: AuditKind) -> AuditEntry {
    AuditEntry::new(None, kind, serde_json::json!({"bench": true}))
}

impl Bench {
    /// Runs `action` on `target` journaled as the engine does: plan,
    /// pre-images and entry, `action` (which syncs through the barrier, or
    /// is preceded by one sync when `own_sync` is false), the
    /// `undo.journaled` record grouped with `kind` (if any), after-images.
    fn journaled(
        &self,
        target: &Path,
        mode: WriteMode,
        kind: Option<AuditKind>,
        own_sync: bool,
        action: &mut dyn FnMut(&Barrier<'_>),
    ) {
        let writes = WriteTargets {
            targets: vec![WriteTarget {
                path: target.to_path_buf(),
                recursive: false,
            }],
            ..WriteTargets::default()
        };
        let plan = self.journal.plan_with(&writes, mode);
        assert_eq!(
            plan.class,
            leash_undo::Reversibility::Reversible,
            "{plan:?}"
        );
        let mut pending = self
            .journal
            .prepare(&EntryContext::default(), &plan)
            .unwrap()
            .unwrap();
        let barrier = Barrier::journaled(&self.journal);
        let append = |pending: &mut leash_undo::Pending| {
            let group = std::iter::once(pending.record())
                .chain(kind.map(record))
                .collect();
            let records = self.audit.append_group(group).unwrap();
            pending.set_audit_seq(records[0].seq);
        };
        if own_sync {
            action(&barrier);
            append(&mut pending);
        } else {
            // A command: the entry is durable before it starts, and its
            // record goes with `command.started`.
            self.journal.make_durable(None).unwrap();
            append(&mut pending);
            action(&barrier);
        }
        self.journal.finish(pending).unwrap();
    }
}

fn write_atomically(target: &Path, content: &[u8], barrier: &Barrier<'_>) {
    let tmp = target.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).unwrap();
    f.write_all(content).unwrap();
    barrier.sync(&f).unwrap();
    std::fs::rename(&tmp, target).unwrap();
}

fn run(argv: &[&str], cwd: &Path) {
    let status = Command::new(argv[0])
        .args(&argv[1..])
        .current_dir(cwd)
        .status()
        .unwrap();
    assert!(status.success());
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Times `plain` and `journaled` alternately; returns their medians.
fn compare(mut plain: impl FnMut(usize), mut journaled: impl FnMut(usize)) -> (Duration, Duration) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..ROUNDS {
        let t = Instant::now();
        plain(i);
        a.push(t.elapsed());
        let t = Instant::now();
        journaled(i);
        b.push(t.elapsed());
    }
    (median(a), median(b))
}

fn report(name: &str, (plain, journaled): (Duration, Duration)) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<28} unjournaled {:>8.2} ms   journaled {:>8.2} ms   ratio {:>5.2}x   added {:>7.2} ms",
        ms(plain),
        ms(journaled),
        ms(journaled) / ms(plain),
        ms(journaled) - ms(plain)
    );
}

fn main() {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&base).unwrap();
    let dir = tempfile::tempdir_in(&base).unwrap();
    let ws = dir.path().join("ws");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::create_dir_all(&state).unwrap();
    let db = state.join("leash.db");
    let bench = Bench {
        journal: Journal::open(
            &db,
            &state.join("undo"),
            UndoSettings {
                max_bytes: 4 * 1024 * MIB as u64,
                ..UndoSettings::default()
            },
        )
        .unwrap(),
        audit: AuditLog::open(&db, AuditOptions::default()).unwrap(),
    };
    println!(
        "journaling overhead in {} ({ROUNDS} rounds, medians)",
        dir.path().display()
    );

    // write_file, 1 MiB: every round writes new content (no dedup shortcut).
    let content = |i: usize| {
        let mut c = vec![b'a' + (i % 26) as u8; MIB];
        c[..8].copy_from_slice(&(i as u64).to_le_bytes());
        c
    };
    let plain_file = ws.join("plain.bin");
    let journaled_file = ws.join("journaled.bin");
    let plain = Barrier::plain();
    write_atomically(&plain_file, &content(999), &plain);
    write_atomically(&journaled_file, &content(998), &plain);
    report(
        "write_file 1 MiB",
        compare(
            |i| {
                write_atomically(&plain_file, &content(i), &plain);
                bench
                    .audit
                    .append_group(vec![record(AuditKind::FileWritten)])
                    .unwrap();
            },
            |i| {
                let c = content(1000 + i);
                bench.journaled(
                    &journaled_file,
                    WriteMode::NewInode,
                    Some(AuditKind::FileWritten),
                    true,
                    &mut |b| write_atomically(&journaled_file, &c, b),
                );
            },
        ),
    );
    report(
        "write_file 1 MiB, file only",
        compare(
            |i| write_atomically(&plain_file, &content(i), &plain),
            |i| {
                let c = content(2000 + i);
                bench.journaled(&journaled_file, WriteMode::NewInode, None, true, &mut |b| {
                    write_atomically(&journaled_file, &c, b)
                });
            },
        ),
    );

    // sed -i, 1 MiB text: a real process, journaled like a `run` action.
    let text = "hello world\n".repeat(MIB / 12);
    std::fs::write(ws.join("plain.txt"), &text).unwrap();
    std::fs::write(ws.join("journaled.txt"), &text).unwrap();
    let flip = |i: usize| {
        if i.is_multiple_of(2) {
            "s/hello/HELLO/"
        } else {
            "s/HELLO/hello/"
        }
    };
    report(
        "sed -i 1 MiB",
        compare(
            |i| {
                bench
                    .audit
                    .append_group(vec![record(AuditKind::CommandStarted)])
                    .unwrap();
                run(&["sed", "-i", flip(i), "plain.txt"], &ws);
            },
            |i| {
                let target = ws.join("journaled.txt");
                bench.journaled(
                    &target,
                    WriteMode::of_program("sed"),
                    Some(AuditKind::CommandStarted),
                    false,
                    &mut |_| run(&["sed", "-i", flip(i), "journaled.txt"], &ws),
                );
            },
        ),
    );

    // touch, 100 MiB: over undo.max_file_mb, journaled by hard link.
    let big = vec![7u8; 100 * MIB];
    std::fs::write(ws.join("plain.big"), &big).unwrap();
    std::fs::write(ws.join("journaled.big"), &big).unwrap();
    drop(big);
    report(
        "touch 100 MiB (hard link)",
        compare(
            |_| {
                bench
                    .audit
                    .append_group(vec![record(AuditKind::CommandStarted)])
                    .unwrap();
                run(&["touch", "plain.big"], &ws);
            },
            |_| {
                let target = ws.join("journaled.big");
                bench.journaled(
                    &target,
                    WriteMode::of_program("touch"),
                    Some(AuditKind::CommandStarted),
                    false,
                    &mut |_| run(&["touch", "journaled.big"], &ws),
                );
            },
        ),
    );
    let verify = bench.audit.verify().unwrap();
    assert!(verify.ok, "{verify:?}");
}
