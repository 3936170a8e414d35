//! Triggers against real parts: real files and real inotify in temp dirs, real
//! git repositories, real SQLite. Each test runs the triggers on its own
//! tokio runtime and stops them through the daemon context.

mod claims;
mod files;
mod git;
mod hostile;
mod schedules;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use leash_daemon::DaemonContext;
use leash_daemon::triggers::{TriggerSet, start_triggers};
use leash_store::Job;

use crate::support::TestDaemonHome;

/// A daemon context plus a runtime that runs its triggers.
pub(crate) struct Running {
    ctx: Arc<DaemonContext>,
    runtime: tokio::runtime::Runtime,
    set: Option<TriggerSet>,
}

impl Running {
    pub(crate) fn start(ctx: Arc<DaemonContext>) -> Running {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let set = start_triggers(&ctx, runtime.handle()).unwrap();
        Running {
            ctx,
            runtime,
            set: Some(set),
        }
    }

    pub(crate) fn stop(&mut self) {
        self.ctx.stop();
        if let Some(set) = self.set.take() {
            self.runtime.block_on(set.join());
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) fn jobs(ctx: &DaemonContext) -> Vec<Job> {
    let mut jobs = ctx.with_store(|s| s.jobs(None, 10_000)).unwrap();
    jobs.reverse();
    jobs
}

/// Polls `check` every 20 ms until it holds or `timeout` passes.
pub(crate) fn wait_for(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}

pub(crate) fn wait_for_jobs(ctx: &DaemonContext, n: usize) -> Vec<Job> {
    assert!(
        wait_for(Duration::from_secs(10), || jobs(ctx).len() >= n),
        "expected {n} jobs, have {:?}",
        jobs(ctx)
    );
    jobs(ctx)
}

/// A watched directory `in` with `*.task` (and `extra` YAML under monitoring).
pub(crate) fn watched_home(extra: &str) -> (TestDaemonHome, PathBuf, Arc<DaemonContext>) {
    let home = TestDaemonHome::new();
    let dir = home.root().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    let loaded = home.load(&format!(
        "monitoring:\n  watch_directories: [{}]\n  watch_patterns: [\"*.task\"]\n{extra}",
        dir.display()
    ));
    let ctx = home.context(loaded);
    (home, dir.canonicalize().unwrap(), ctx)
}

pub(crate) fn processing(dir: &Path, name: &str) -> PathBuf {
    dir.join(".leash/processing").join(name)
}
