//! Audit appends per second: fsync per record vs batched durability, both with a
//! JSONL mirror, in a temp dir under the target directory (real disk, not tmpfs).
//! Prints both rates and their ratio; run with
//! `cargo bench -p leash-store --bench audit_append`.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use leash_store::AuditKind;
use std::path::Path;
use std::time::{Duration, Instant};

use leash_store::{AuditLog, AuditOptions, Durability};
use serde_json::json;

/// How long each mode appends for.
const BUDGET: Duration = Duration::from_secs(3);

fn appends_per_second(dir: &Path, durability: Durability) -> (u64, f64) {
    let db = dir.join(format!("{durability:?}.db"));
    let log = AuditLog::open(
        &db,
        AuditOptions {
            mirror: Some(dir.join(format!("{durability:?}.log"))),
            durability,
            rotate_bytes: 8 * 1024 * 1024,
        },
    )
    .expect("open audit log");
    let start = Instant::now();
    let mut appended = 0u64;
    while start.elapsed() < BUDGET {
        log.append(
            Some(7),
            AuditKind::CommandDecision,
            json!({"argv": ["ls", "-la", "/tmp"], "decision": "allow", "rule": "whitelist:ls", "n": appended}),
        )
        .expect("append");
        appended += 1;
    }
    // Batched records count only once they are durable.
    log.flush().expect("flush");
    let elapsed = start.elapsed().as_secs_f64();
    let report = log.verify().expect("verify");
    assert!(report.ok, "chain broken after benchmark: {report:?}");
    (appended, appended as f64 / elapsed)
}

fn main() {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(base).expect("target tmpdir");
    let dir = tempfile::tempdir_in(base).expect("temp dir");
    println!(
        "audit append benchmark in {} ({}s per mode)",
        dir.path().display(),
        BUDGET.as_secs()
    );
    let (fsync_n, fsync_rate) = appends_per_second(dir.path(), Durability::Fsync);
    println!("fsync per record : {fsync_rate:>10.0} appends/s ({fsync_n} appends)");
    let (batched_n, batched_rate) = appends_per_second(dir.path(), Durability::Batched);
    println!("batched          : {batched_rate:>10.0} appends/s ({batched_n} appends)");
    println!("ratio batched/fsync: {:.1}x", batched_rate / fsync_rate);
}
