//! How much CPU other work takes *now*, read before each answer so the
//! decode thread count follows the load (issue #14 item 2).
//!
//! Two readings, and the busier one counts:
//!
//! - **Since the last answer**: the busy and total ticks of `/proc/stat`'s
//!   `cpu` line, less this process's own ticks (`/proc/self/stat`), between
//!   the end of the previous answer and now. The window leaves out our own
//!   decoding (it starts when the answer ended), and the subtraction leaves
//!   out anything else this process did meanwhile. It sees load that comes
//!   and goes (a process that sleeps half the time).
//! - **Right now**: the runnable threads of `/proc/loadavg` (its fourth
//!   field), less this process's own runnable threads (the reader and any
//!   decode thread still spinning after an answer). A CPU-bound process is runnable at any
//!   instant, so a build or a `yes` that started a second ago shows here even
//!   after an hour-long quiet window.
//!
//! Both are whole-machine figures. Each costs one small read of procfs (tens
//! of µs); nothing is sampled in the background, so an idle daemon stays at
//! zero CPU. When procfs hides them (Android restricts `/proc/stat` for
//! apps), the answer is "unknown" and the caller keeps the conservative count.
//!
//! Written by hand: the three lines parsed here are stable kernel ABI, and a
//! procfs crate would add a dependency tree for a dozen lines.

use std::fs;

/// Ticks (`USER_HZ`) in a window shorter than this are too few to judge: the
/// busy share of a few ticks is mostly rounding. 10 ticks are 50 ms on a
/// 2-core machine.
const MIN_WINDOW_TICKS: u64 = 10;

/// Cumulative CPU ticks at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CpuTicks {
    /// All CPUs: user, nice, system, irq, softirq, steal.
    busy: u64,
    /// All CPUs: the above plus idle and iowait.
    total: u64,
    /// This process, all its threads: user plus system.
    own: u64,
}

/// What the gauge says about the machine now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Load {
    /// CPUs the kernel runs (the `cpuN` lines of `/proc/stat`).
    pub(crate) cpus: u32,
    /// CPUs' worth of work by everything but this process, `None` when
    /// procfs does not say.
    pub(crate) others_busy: Option<f64>,
}

/// Remembers the ticks at the end of the last answer.
#[derive(Debug, Default)]
pub(crate) struct LoadGauge {
    since: Option<CpuTicks>,
}

impl LoadGauge {
    /// A gauge whose first window starts now.
    pub(crate) fn new() -> Self {
        LoadGauge {
            since: read_ticks().map(|(ticks, _)| ticks),
        }
    }

    /// Starts the next window (call when an answer ends).
    // Only the embedded backend answers.
    #[cfg(feature = "llama")]
    pub(crate) fn mark(&mut self) {
        self.since = read_ticks().map(|(ticks, _)| ticks);
    }

    /// The load now: the busier of the window since [`Self::mark`] and the
    /// threads runnable at this instant.
    pub(crate) fn read(&self) -> Load {
        let now = read_ticks();
        let cpus = now.map_or_else(fallback_cpus, |(_, cpus)| cpus);
        let window = match (self.since, now) {
            (Some(before), Some((after, _))) => others_busy_between(before, after, cpus),
            _ => None,
        };
        let instant = fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|text| runnable_others(&text, own_running_threads()))
            .map(|n| f64::from(n.min(cpus)));
        let others_busy = match (window, instant) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        Load { cpus, others_busy }
    }
}

fn fallback_cpus() -> u32 {
    std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        .unwrap_or(1)
}

/// Reads `/proc/stat` and `/proc/self/stat`.
fn read_ticks() -> Option<(CpuTicks, u32)> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let (busy, total, cpus) = parse_proc_stat(&stat)?;
    let own = parse_own_ticks(&fs::read_to_string("/proc/self/stat").ok()?)?;
    Some((CpuTicks { busy, total, own }, cpus))
}

/// CPUs' worth of others' work between two readings: busy ticks less our own,
/// as a share of all ticks, times the CPUs. `None` for a window too short to
/// judge (or a counter that went backwards, e.g. a CPU taken offline).
fn others_busy_between(before: CpuTicks, after: CpuTicks, cpus: u32) -> Option<f64> {
    let total = after.total.checked_sub(before.total)?;
    let busy = after.busy.checked_sub(before.busy)?;
    let own = after.own.saturating_sub(before.own);
    if total < MIN_WINDOW_TICKS {
        return None;
    }
    // Ticks are counted per CPU; u64 → f64 is exact far beyond any uptime.
    #[allow(clippy::cast_precision_loss)]
    let share = busy.saturating_sub(own) as f64 / total as f64;
    Some(share.clamp(0.0, 1.0) * f64::from(cpus))
}

/// `(busy, total, cpus)` from the text of `/proc/stat`.
fn parse_proc_stat(text: &str) -> Option<(u64, u64, u32)> {
    let mut lines = text.lines();
    let first = lines.next()?;
    let mut fields = first.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest is in user).
    let values: Vec<u64> = fields
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let [user, nice, system, idle, iowait, irq, softirq, steal] = values.get(..8)? else {
        return None;
    };
    let busy = user + nice + system + irq + softirq + steal;
    let total = busy + idle + iowait;
    let cpus = lines
        .filter(|line| {
            line.strip_prefix("cpu")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count();
    Some((busy, total, u32::try_from(cpus).ok()?.max(1)))
}

/// utime + stime from the text of `/proc/PID/stat`. The command name (field
/// 2) is in parentheses and may hold spaces and parentheses itself, so the
/// fields are counted from the last `)`.
fn parse_own_ticks(text: &str) -> Option<u64> {
    let after_name = text.get(text.rfind(')')? + 1..)?;
    // Fields 3.. : state is the first, utime the 12th, stime the 13th.
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Runnable threads of other processes, from `/proc/loadavg`
/// (`0.50 0.40 0.30 3/412 12345`: 3 runnable, `own_running` of them ours,
/// the reader among them).
fn runnable_others(text: &str, own_running: u32) -> Option<u32> {
    let field = text.split_whitespace().nth(3)?;
    let runnable: u32 = field.split('/').next()?.parse().ok()?;
    Some(runnable.saturating_sub(own_running.max(1)))
}

/// This process's threads that are running or runnable now (state `R` in
/// `/proc/self/task/*/stat`), the reader included. Why: right after an
/// answer, the decode threads of this process (of the backend that just
/// answered, or of a second backend such as the fleet's serving one) spin
/// for a moment before they sleep, and `/proc/loadavg` counts them; they
/// are not another program's load, just as the window leaves out this
/// process's own ticks. Counting them made an idle machine look busy (the
/// bench chose 1 thread after a 2-thread answer). 1 (the reader) when the
/// directory cannot be read.
fn own_running_threads() -> u32 {
    let Ok(tasks) = fs::read_dir("/proc/self/task") else {
        return 1;
    };
    let running = tasks
        .filter_map(Result::ok)
        .filter(|task| {
            fs::read_to_string(task.path().join("stat"))
                .ok()
                .and_then(|text| parse_state(&text))
                == Some('R')
        })
        .count();
    u32::try_from(running).unwrap_or(u32::MAX).max(1)
}

/// The state letter of a `stat` line (`42 (name) R ...`); the name may hold
/// spaces and parentheses, so the state follows the last `)`.
fn parse_state(text: &str) -> Option<char> {
    text.get(text.rfind(')')? + 1..)?
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[test]
    fn proc_stat_sums_busy_and_idle_and_counts_cpus() {
        let text = "cpu  100 10 50 800 40 5 5 10 7 0\ncpu0 50 5 25 400 20 2 3 5 0 0\ncpu1 50 5 25 400 20 3 2 5 0 0\nintr 1 2 3\nctxt 9\n";
        assert_eq!(parse_proc_stat(text), Some((180, 1020, 2)));
    }

    #[rstest]
    #[case::not_the_cpu_line("intr 1 2\n")]
    #[case::too_few_fields("cpu 1 2 3\n")]
    #[case::not_numbers("cpu a b c d e f g h\n")]
    #[case::empty("")]
    fn unreadable_proc_stat_is_none(#[case] text: &str) {
        assert_eq!(parse_proc_stat(text), None);
    }

    #[rstest]
    #[case::plain(
        "42 (leash) S 1 42 42 0 -1 4194304 98 0 0 0 30 12 0 0 20 0 4 0 99",
        Some(42)
    )]
    #[case::name_with_spaces_and_parens(
        "42 (a) b (c) R 1 42 42 0 -1 4194304 98 0 0 0 7 3 0 0 20 0 4 0 99",
        Some(10)
    )]
    #[case::truncated("42 (leash) S 1 42", None)]
    fn own_ticks_are_utime_plus_stime(#[case] text: &str, #[case] expected: Option<u64>) {
        assert_eq!(parse_own_ticks(text), expected);
    }

    #[rstest]
    #[case::only_us("0.00 0.01 0.05 1/120 999", 1, Some(0))]
    #[case::one_other("1.00 0.50 0.20 2/120 999", 1, Some(1))]
    #[case::zero_is_not_negative("0.00 0.00 0.00 0/120 999", 1, Some(0))]
    #[case::own_spinning_threads_are_not_others("1.00 0.50 0.20 3/120 999", 3, Some(0))]
    #[case::own_threads_and_one_other("1.00 0.50 0.20 4/120 999", 3, Some(1))]
    #[case::unknown_own_count_still_leaves_out_the_reader("1.00 0.50 0.20 2/120 999", 0, Some(1))]
    #[case::garbage("nothing here", 1, None)]
    fn runnable_threads_leave_out_our_own(
        #[case] text: &str,
        #[case] own_running: u32,
        #[case] expected: Option<u32>,
    ) {
        assert_eq!(runnable_others(text, own_running), expected);
    }

    #[rstest]
    #[case::running("42 (leash) R 1 42", Some('R'))]
    #[case::sleeping("42 (leash) S 1 42", Some('S'))]
    #[case::name_with_spaces_and_parens("42 (a) b (c) R 1", Some('R'))]
    #[case::truncated("42 (leash)", None)]
    fn the_state_follows_the_last_parenthesis(#[case] text: &str, #[case] expected: Option<char>) {
        assert_eq!(parse_state(text), expected);
    }

    /// A thread of this process that spins (as decode threads do for a
    /// moment after an answer) is counted as ours, so it is not taken for
    /// another program's load.
    #[test]
    fn a_spinning_thread_of_our_own_is_counted_as_ours() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = Arc::new(AtomicBool::new(false));
        let spinner = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        };
        // The spinner is running or runnable at every instant; the reader
        // is running while it reads. Retry a few times: a preempted reader
        // or spinner is briefly in another state on a busy machine.
        let seen = (0..50).map(|_| own_running_threads()).max().unwrap();
        stop.store(true, Ordering::Relaxed);
        spinner.join().unwrap();
        assert!(seen >= 2, "own running threads seen: {seen}");
    }

    fn ticks(busy: u64, total: u64, own: u64) -> CpuTicks {
        CpuTicks { busy, total, own }
    }

    #[rstest]
    #[case::idle(ticks(0, 0, 0), ticks(2, 200, 0), Some(0.02))]
    #[case::one_of_two_busy(ticks(0, 0, 0), ticks(100, 200, 0), Some(1.0))]
    #[case::our_own_work_does_not_count(ticks(0, 0, 0), ticks(150, 200, 150), Some(0.0))]
    #[case::others_and_us(ticks(0, 0, 0), ticks(150, 200, 50), Some(1.0))]
    #[case::too_short_a_window(ticks(0, 0, 0), ticks(1, 5, 0), None)]
    #[case::counter_went_back(ticks(10, 500, 0), ticks(5, 400, 0), None)]
    fn others_busy_is_the_share_of_ticks_times_the_cpus(
        #[case] before: CpuTicks,
        #[case] after: CpuTicks,
        #[case] expected: Option<f64>,
    ) {
        let got = others_busy_between(before, after, 2);
        match (got, expected) {
            (Some(got), Some(expected)) => assert!((got - expected).abs() < 1e-9, "{got}"),
            (got, expected) => assert_eq!(got, expected),
        }
    }

    #[test]
    fn this_machine_reads_a_load() {
        // procfs is mounted wherever the tests run (Linux CI); an unreadable
        // one would make the adaptive count silently fixed, so say so.
        let gauge = LoadGauge::new();
        let load = gauge.read();
        assert!(load.cpus >= 1);
        assert!(
            load.others_busy
                .is_some_and(|b| (0.0..=f64::from(load.cpus)).contains(&b)),
            "{load:?}"
        );
    }
}
