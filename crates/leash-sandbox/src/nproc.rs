//! Counting what a uid already runs, so RLIMIT_NPROC can be set relative to it.
//!
//! The kernel checks RLIMIT_NPROC against every task (process *and* thread) of
//! the real uid; on Android that includes the whole app (Termux's JVM threads).
//! An absolute limit would make the first `fork` fail there, so the executor
//! sets `current tasks of the uid + max_processes`, counted here in the parent
//! before forking. The count is a snapshot: tasks the uid starts or ends
//! concurrently move the effective headroom by that much.

use std::fs;
use std::io;

/// The number of tasks (threads included) whose real uid is `uid`, from
/// `/proc/<pid>/status`. Processes that vanish while scanning are skipped.
pub(crate) fn tasks_of_uid(uid: u32) -> io::Result<u64> {
    let mut tasks = 0u64;
    for entry in fs::read_dir("/proc")? {
        let entry = entry?;
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // The owner of /proc/<pid> is the task's effective uid: one stat
        // rules out every other user's process without generating its
        // `status` text (that read is what made this count cost milliseconds
        // per spawn). A process whose effective uid differs from its real one
        // is skipped, which can only make the limit stricter.
        let Ok(meta) = entry.metadata() else {
            continue; // the process ended meanwhile
        };
        if std::os::unix::fs::MetadataExt::uid(&meta) != uid {
            continue;
        }
        let Ok(status) = fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        if let Some(threads) = threads_if_real_uid(&status, uid) {
            tasks = tasks.saturating_add(threads);
        }
    }
    Ok(tasks)
}

/// `Threads:` of a `/proc/<pid>/status` text when its real uid (first field
/// of `Uid:`) is `uid`.
fn threads_if_real_uid(status: &str, uid: u32) -> Option<u64> {
    let mut real_uid = None;
    let mut threads = None;
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("Uid:") {
            real_uid = rest.split_whitespace().next()?.parse::<u32>().ok();
        } else if let Some(rest) = line.strip_prefix("Threads:") {
            threads = rest.trim().parse::<u64>().ok();
        }
    }
    (real_uid? == uid).then_some(threads.unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_uid_and_threads() {
        let status = "Name:\tjava\nUid:\t10123\t10123\t10123\t10123\nThreads:\t57\n";
        assert_eq!(threads_if_real_uid(status, 10123), Some(57));
        assert_eq!(threads_if_real_uid(status, 0), None);
        let effective_only = "Uid:\t1000\t10123\t10123\t10123\nThreads:\t3\n";
        assert_eq!(threads_if_real_uid(effective_only, 10123), None);
    }

    #[test]
    fn counts_at_least_this_process_threads() {
        let uid = nix::unistd::getuid().as_raw();
        let count = tasks_of_uid(uid).unwrap();
        assert!(count >= 1, "this test process runs as uid {uid}");
    }
}
