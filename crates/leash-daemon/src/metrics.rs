//! Counters for `/metrics` (Prometheus text format). Atomics only: counting
//! never takes a lock and never fails.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The daemon's counters since it started.
#[derive(Debug)]
pub struct Metrics {
    /// Trigger events that reached intake.
    pub triggers_received: AtomicU64,
    /// Of those, the ones absorbed by a pending job with the same key.
    pub triggers_deduplicated: AtomicU64,
    /// Jobs created.
    pub jobs_queued: AtomicU64,
    /// Jobs that ended `done`.
    pub jobs_finished: AtomicU64,
    /// Jobs that ended `failed`.
    pub jobs_failed: AtomicU64,
    /// Commands handed to the sandbox.
    pub commands_started: AtomicU64,
    /// Approval requests created.
    pub approvals_requested: AtomicU64,
    /// Answers refused for a wrong nonce (a forged or stale link).
    pub approvals_refused_nonce: AtomicU64,
    /// API requests served.
    pub http_requests: AtomicU64,
    /// API requests refused for a missing or wrong token.
    pub http_unauthorized: AtomicU64,
    /// Resource governor state changes.
    pub governor_changes: AtomicU64,
    /// 1 while the governor holds inference (device hot).
    pub governor_paused: AtomicU64,
    /// The last temperature read, in m°C; `i64::MIN`: none.
    pub governor_temp_millicelsius: AtomicI64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            triggers_received: AtomicU64::new(0),
            triggers_deduplicated: AtomicU64::new(0),
            jobs_queued: AtomicU64::new(0),
            jobs_finished: AtomicU64::new(0),
            jobs_failed: AtomicU64::new(0),
            commands_started: AtomicU64::new(0),
            approvals_requested: AtomicU64::new(0),
            approvals_refused_nonce: AtomicU64::new(0),
            http_requests: AtomicU64::new(0),
            http_unauthorized: AtomicU64::new(0),
            governor_changes: AtomicU64::new(0),
            governor_paused: AtomicU64::new(0),
            governor_temp_millicelsius: AtomicI64::new(i64::MIN),
        }
    }
}

impl Metrics {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters, plus the given gauges (job counts by state), in the
    /// Prometheus text exposition format.
    pub fn render(&self, job_counts: &[(&str, i64)], uptime_s: u64) -> String {
        let mut out = String::new();
        let counters: [(&str, &str, &AtomicU64); 11] = [
            (
                "leash_triggers_received_total",
                "Trigger events received.",
                &self.triggers_received,
            ),
            (
                "leash_triggers_deduplicated_total",
                "Trigger events that matched a pending job.",
                &self.triggers_deduplicated,
            ),
            ("leash_jobs_queued_total", "Jobs queued.", &self.jobs_queued),
            (
                "leash_jobs_finished_total",
                "Jobs that ended done.",
                &self.jobs_finished,
            ),
            (
                "leash_jobs_failed_total",
                "Jobs that ended failed.",
                &self.jobs_failed,
            ),
            (
                "leash_commands_started_total",
                "Commands started by jobs.",
                &self.commands_started,
            ),
            (
                "leash_approvals_requested_total",
                "Approvals requested.",
                &self.approvals_requested,
            ),
            (
                "leash_approvals_nonce_refused_total",
                "Approval answers refused for a wrong or stale nonce.",
                &self.approvals_refused_nonce,
            ),
            (
                "leash_http_requests_total",
                "HTTP requests served.",
                &self.http_requests,
            ),
            (
                "leash_http_unauthorized_total",
                "HTTP requests refused for a missing or wrong token.",
                &self.http_unauthorized,
            ),
            (
                "leash_governor_changes_total",
                "Resource governor state changes (pause, resume, defer, threads).",
                &self.governor_changes,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP leash_jobs Jobs in the queue by state.\n# TYPE leash_jobs gauge"
        );
        for (state, count) in job_counts {
            let _ = writeln!(out, "leash_jobs{{state=\"{state}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "# HELP leash_governor_paused 1 while inference is paused because the device is hot.\n# TYPE leash_governor_paused gauge\nleash_governor_paused {}",
            self.governor_paused.load(Ordering::Relaxed)
        );
        let milli = self.governor_temp_millicelsius.load(Ordering::Relaxed);
        if milli != i64::MIN {
            let _ = writeln!(
                out,
                "# HELP leash_device_temperature_celsius The last device temperature read.\n# TYPE leash_device_temperature_celsius gauge\nleash_device_temperature_celsius {}",
                milli as f64 / 1000.0
            );
        }
        let _ = writeln!(
            out,
            "# HELP leash_uptime_seconds Seconds since the daemon started.\n# TYPE leash_uptime_seconds gauge\nleash_uptime_seconds {uptime_s}"
        );
        out
    }
}
