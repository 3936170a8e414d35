//! How many threads inference uses by default: for decoding (one token at a
//! time) the physical performance cores less one when there are at least
//! two; for evaluating prompts (batches of up to `n_batch` tokens) all of
//! them; at most 4 either way.
//!
//! Why not every logical CPU: llama.cpp's matrix kernels are memory-bound and
//! scale with physical cores; hyper-threads and a phone's efficiency cores
//! (big.LITTLE) mostly add synchronisation stalls, because every thread waits
//! for the slowest one at each layer. Beyond 4 threads a small model gains
//! little and a phone gets hot.
//!
//! Why one core is left free: ggml's threads spin at every barrier, so when
//! another process holds one of the cores inference runs on, each layer waits
//! for a thread that is not running, and decoding collapses. Measured with
//! `cargo bench -p leash-llm --features llama --bench llama_decode` (its
//! thread comparison, SmolLM2-135M Q4_1, 2-core VM, same run each):
//!
//! | machine                      | 1 thread    | 2 threads            |
//! |------------------------------|-------------|----------------------|
//! | idle                         | 174 tok/s   | 211 tok/s (1.21×)    |
//! | one core busy (`yes`)        | 173 tok/s   | 64 tok/s (0.37×)     |
//!
//! Using every core gains a fifth when the machine is idle and loses almost
//! two thirds when it is not; a phone is never idle, and the daemon shares
//! the machine with whatever the person is doing.
//!
//! Prompt evaluation is different: a batch is a lot of work per barrier, so
//! a thread that is not running costs little. Time to the first token of a
//! job with a ~1,000-token prompt (`--bench llama_prefix`, `LEASH_BENCH_THREADS`):
//!
//! | machine                      | 1 thread    | 2 threads            |
//! |------------------------------|-------------|----------------------|
//! | idle                         | 4,359 ms    | 2,269 ms (1.92× faster) |
//! | one core busy (`yes`)        | 4,379 ms    | 4,438 ms (same)      |
//!
//! So batches use every performance core. The user's `model.threads` always
//! wins, for both.
//!
//! Decoding does not have to pick one of the two rows for good: when
//! `model.threads` is unset, the embedded backend chooses again before each
//! answer from the cores that are free at that moment ([`adaptive`], with the
//! load read by [`load`]), so an idle machine gets every core and a busy one
//! the conservative count. [`default_thread_count`] stays the count used when
//! the load cannot be read.

mod adaptive;
mod load;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

pub(crate) use adaptive::{ThreadInputs, decode_threads};
pub(crate) use load::{Load, LoadGauge};

/// At most this many threads by default.
const MAX_DEFAULT_THREADS: u32 = 4;

/// The physical performance cores this process may use, less one when there
/// are at least two, at most 4, at least 1.
pub fn default_thread_count() -> u32 {
    threads_for_cores(usable_performance_cores())
}

/// Threads for evaluating prompt batches: the physical performance cores
/// this process may use, at most 4, at least 1.
pub fn default_batch_thread_count() -> u32 {
    usable_performance_cores().clamp(1, MAX_DEFAULT_THREADS)
}

/// Chooses the decode threads before each answer (see [`adaptive`]): keeps
/// the person's count and the cores, and the load window since the last
/// answer.
#[derive(Debug)]
pub(crate) struct DecodeThreadChooser {
    cores: u32,
    configured: Option<u32>,
    gauge: LoadGauge,
}

/// One choice, with what it was made from (for the log).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DecodeThreadChoice {
    pub(crate) threads: u32,
    pub(crate) inputs: ThreadInputs,
    /// How long reading the load and choosing took.
    pub(crate) took: Duration,
}

impl DecodeThreadChooser {
    /// `configured`: `model.threads`, which fixes the count when set.
    pub(crate) fn new(configured: Option<u32>) -> Self {
        DecodeThreadChooser {
            cores: usable_performance_cores(),
            configured,
            gauge: LoadGauge::new(),
        }
    }

    /// The count for the answer about to start, under the governor's `cap`.
    pub(crate) fn choose(&self, cap: Option<u32>) -> DecodeThreadChoice {
        let started = Instant::now();
        // A fixed count needs no reading.
        let load = match self.configured {
            Some(_) => Load {
                cpus: self.cores,
                others_busy: None,
            },
            None => self.gauge.read(),
        };
        let inputs = ThreadInputs {
            cores: self.cores,
            cpus: load.cpus,
            configured: self.configured,
            governor: cap,
            others_busy: load.others_busy,
        };
        DecodeThreadChoice {
            threads: decode_threads(inputs),
            inputs,
            took: started.elapsed(),
        }
    }

    /// An answer ended: the next load window starts now, so it leaves out
    /// our own decoding.
    // Only the embedded backend answers.
    #[cfg(feature = "llama")]
    pub(crate) fn answer_ended(&mut self) {
        if self.configured.is_none() {
            self.gauge.mark();
        }
    }
}

/// The decode threads the embedded backend would choose for an answer
/// starting now, with `model.threads` = `configured` (for `leash doctor`
/// and the benchmarks; it reads the load of this instant only, not a window).
pub fn decode_threads_now(configured: Option<u32>) -> u32 {
    DecodeThreadChooser::new(configured).choose(None).threads
}

fn usable_performance_cores() -> u32 {
    let allowed = std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        .unwrap_or(1);
    let performance = performance_cores(Path::new("/sys/devices/system/cpu")).unwrap_or(allowed);
    performance.min(allowed)
}

/// The decoding thread count for `cores` usable performance cores: one left
/// free for everything else when there are at least two.
fn threads_for_cores(cores: u32) -> u32 {
    let threads = if cores >= 2 { cores - 1 } else { cores };
    threads.clamp(1, MAX_DEFAULT_THREADS)
}

/// Counts the physical cores under a sysfs `cpu` directory, leaving out the
/// slowest cluster when cores differ in maximum frequency (a phone's
/// efficiency cores, Intel E-cores). `None` when the topology is unreadable
/// (Android may hide it): the caller then falls back to the CPUs it may use.
fn performance_cores(cpu_root: &Path) -> Option<u32> {
    // Physical core (its sibling list) → highest max frequency among its CPUs.
    let mut cores: BTreeMap<String, Option<u64>> = BTreeMap::new();
    for entry in fs::read_dir(cpu_root).ok()?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_cpu = name
            .strip_prefix("cpu")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !is_cpu {
            continue;
        }
        let dir = entry.path();
        let offline = fs::read_to_string(dir.join("online")).is_ok_and(|s| s.trim() == "0");
        if offline {
            continue;
        }
        let siblings = fs::read_to_string(dir.join("topology/core_cpus_list"))
            .or_else(|_| fs::read_to_string(dir.join("topology/thread_siblings_list")))
            .ok()?;
        let max_freq = fs::read_to_string(dir.join("cpufreq/cpuinfo_max_freq"))
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok());
        let slot = cores.entry(siblings.trim().to_string()).or_insert(max_freq);
        *slot = (*slot).max(max_freq);
    }
    if cores.is_empty() {
        return None;
    }
    let freqs: Option<Vec<u64>> = cores.values().copied().collect();
    let count = match freqs {
        Some(freqs) => {
            let slowest = freqs.iter().copied().min().unwrap_or(0);
            let fastest = freqs.iter().copied().max().unwrap_or(0);
            if slowest == fastest {
                freqs.len()
            } else {
                freqs.iter().filter(|f| **f > slowest).count()
            }
        }
        // Frequencies unknown (VMs, containers): every physical core counts.
        None => cores.len(),
    };
    u32::try_from(count).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a fake sysfs tree: one entry per CPU of (core sibling list, max freq).
    fn fake_sysfs(cpus: &[(&str, Option<u64>)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (i, (siblings, freq)) in cpus.iter().enumerate() {
            let dir = root.path().join(format!("cpu{i}"));
            fs::create_dir_all(dir.join("topology")).unwrap();
            fs::write(dir.join("topology/core_cpus_list"), siblings).unwrap();
            if let Some(freq) = freq {
                fs::create_dir_all(dir.join("cpufreq")).unwrap();
                fs::write(dir.join("cpufreq/cpuinfo_max_freq"), freq.to_string()).unwrap();
            }
        }
        fs::create_dir_all(root.path().join("cpufreq")).unwrap(); // not a cpuN dir
        root
    }

    #[test]
    fn hyperthreads_count_once() {
        let root = fake_sysfs(&[("0,2", None), ("1,3", None), ("0,2", None), ("1,3", None)]);
        assert_eq!(performance_cores(root.path()), Some(2));
    }

    #[test]
    fn phone_efficiency_cluster_is_left_out() {
        // 4 little cores at 1.8 GHz, 3 big at 2.4 GHz, 1 prime at 3.0 GHz.
        let mut cpus: Vec<(String, Option<u64>)> = Vec::new();
        for i in 0..8 {
            let freq = match i {
                0..=3 => 1_800_000,
                4..=6 => 2_400_000,
                _ => 3_000_000,
            };
            cpus.push((i.to_string(), Some(freq)));
        }
        let cpus: Vec<(&str, Option<u64>)> = cpus.iter().map(|(s, f)| (s.as_str(), *f)).collect();
        let root = fake_sysfs(&cpus);
        assert_eq!(performance_cores(root.path()), Some(4));
    }

    #[test]
    fn equal_cores_all_count() {
        let root = fake_sysfs(&[("0", Some(3_000_000)), ("1", Some(3_000_000))]);
        assert_eq!(performance_cores(root.path()), Some(2));
    }

    #[test]
    fn offline_cpus_are_skipped() {
        let root = fake_sysfs(&[("0", None), ("1", None), ("2", None)]);
        fs::write(root.path().join("cpu2/online"), "0\n").unwrap();
        assert_eq!(performance_cores(root.path()), Some(2));
    }

    #[test]
    fn unreadable_topology_is_none() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("cpu0")).unwrap();
        assert_eq!(performance_cores(root.path()), None);
        assert_eq!(performance_cores(&root.path().join("missing")), None);
    }

    #[test]
    fn one_core_is_left_free_when_there_are_two_or_more() {
        for (cores, threads) in [(0, 1), (1, 1), (2, 1), (3, 2), (4, 3), (5, 4), (16, 4)] {
            assert_eq!(threads_for_cores(cores), threads, "{cores} cores");
        }
    }

    #[test]
    fn default_is_between_1_and_4() {
        let n = default_thread_count();
        assert!((1..=MAX_DEFAULT_THREADS).contains(&n), "{n}");
        let batch = default_batch_thread_count();
        assert!((n..=MAX_DEFAULT_THREADS).contains(&batch), "{batch} < {n}");
    }
}
