//! The decode thread count for the next answer, from what is known before
//! it starts (issue #14 item 2): the cores, the person's `model.threads`,
//! the resource governor's lowered count, and how busy the machine is now
//! ([`super::load`]).
//!
//! A pure function, so that every case is a row of a table.
//!
//! - `model.threads` set: that count, always (as before).
//! - Otherwise one thread per performance core that others leave free, at
//!   most 4. Why free cores only: ggml's threads spin at every barrier, so a
//!   thread whose core is taken stalls each layer (measured in
//!   [`super`]'s table: 2 threads on a 2-core VM with one core busy decode
//!   at 0.37× of 1 thread). An idle 2-core machine therefore gets 2 threads,
//!   and one with a core busy gets 1.
//! - Load unknown (procfs hidden): the conservative default, the
//!   performance cores less one.
//! - The governor's count (lowered while the device runs warm) caps all of
//!   the above, the person's count included.

use super::{MAX_DEFAULT_THREADS, threads_for_cores};

/// A core counts as free while others use less than this share of it: a
/// quarter of a core of background work costs a spinning thread less than
/// the second thread gains on an idle core.
const FREE_CORE_SLACK: f64 = 0.25;

/// What the choice is made from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ThreadInputs {
    /// Physical performance cores this process may use.
    pub(crate) cores: u32,
    /// CPUs the kernel runs (what `others_busy` is counted out of).
    pub(crate) cpus: u32,
    /// `model.threads`, when the person set it.
    pub(crate) configured: Option<u32>,
    /// The resource governor's lowered count, while it lowers it.
    pub(crate) governor: Option<u32>,
    /// CPUs' worth of work by other processes now; `None`: unknown.
    pub(crate) others_busy: Option<f64>,
}

/// The decode threads for the next answer; at least 1.
pub(crate) fn decode_threads(inputs: ThreadInputs) -> u32 {
    let chosen = match (inputs.configured, inputs.others_busy) {
        (Some(fixed), _) => fixed,
        (None, None) => threads_for_cores(inputs.cores),
        (None, Some(busy)) => free_cores(inputs.cores, inputs.cpus, busy),
    };
    let chosen = match inputs.governor {
        Some(cap) => chosen.min(cap),
        None => chosen,
    };
    chosen.max(1)
}

/// The performance cores others leave free, assuming their work spreads
/// over the CPUs evenly (procfs's whole-machine figure cannot say which
/// cores it is on), at most [`MAX_DEFAULT_THREADS`].
fn free_cores(cores: u32, cpus: u32, others_busy: f64) -> u32 {
    let cores = cores.clamp(1, MAX_DEFAULT_THREADS);
    let busy_share = (others_busy / f64::from(cpus.max(1))).clamp(0.0, 1.0);
    let free = f64::from(cores) * (1.0 - busy_share) + FREE_CORE_SLACK;
    // `free` is within 0..=4.25 here, so the cast neither wraps nor saturates.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let whole = free.floor() as u32;
    whole.clamp(1, cores)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn inputs(
        cores: u32,
        configured: Option<u32>,
        governor: Option<u32>,
        others_busy: Option<f64>,
    ) -> ThreadInputs {
        ThreadInputs {
            cores,
            cpus: cores,
            configured,
            governor,
            others_busy,
        }
    }

    #[rstest]
    #[case::idle_two_cores_uses_both(inputs(2, None, None, Some(0.05)), 2)]
    #[case::light_background_still_counts_as_idle(inputs(2, None, None, Some(0.2)), 2)]
    #[case::one_core_busy_of_two(inputs(2, None, None, Some(1.0)), 1)]
    #[case::a_core_half_busy_is_not_free(inputs(2, None, None, Some(0.5)), 1)]
    #[case::all_busy_of_two(inputs(2, None, None, Some(2.0)), 1)]
    #[case::idle_four_cores(inputs(4, None, None, Some(0.0)), 4)]
    #[case::one_busy_of_four(inputs(4, None, None, Some(1.0)), 3)]
    #[case::all_busy_of_four(inputs(4, None, None, Some(4.0)), 1)]
    #[case::more_busy_than_cpus(inputs(4, None, None, Some(9.0)), 1)]
    #[case::never_more_than_four(inputs(16, None, None, Some(0.0)), 4)]
    #[case::single_core(inputs(1, None, None, Some(0.0)), 1)]
    #[case::load_unknown_keeps_the_conservative_count(inputs(4, None, None, None), 3)]
    #[case::load_unknown_on_two_cores(inputs(2, None, None, None), 1)]
    #[case::persons_count_is_fixed_when_idle(inputs(2, Some(1), None, Some(0.0)), 1)]
    #[case::persons_count_is_fixed_when_busy(inputs(2, Some(2), None, Some(2.0)), 2)]
    #[case::persons_count_may_exceed_the_default_cap(inputs(8, Some(6), None, Some(0.0)), 6)]
    #[case::governor_lowers_the_adaptive_count(inputs(4, None, Some(1), Some(0.0)), 1)]
    #[case::governor_lowers_the_persons_count(inputs(4, Some(4), Some(1), Some(0.0)), 1)]
    #[case::governor_never_raises(inputs(2, None, Some(4), Some(2.0)), 1)]
    #[case::governor_never_raises_the_persons_count(inputs(2, Some(1), Some(4), None), 1)]
    #[case::zero_is_never_chosen(inputs(2, Some(0), None, None), 1)]
    fn decode_threads_follow_the_load(#[case] inputs: ThreadInputs, #[case] expected: u32) {
        assert_eq!(decode_threads(inputs), expected, "{inputs:?}");
    }

    #[test]
    fn busy_hyperthreads_count_by_share() {
        // 4 cores, 8 logical CPUs, others on 2 of them: a quarter of the
        // machine, so 3 of the 4 cores are free.
        let inputs = ThreadInputs {
            cores: 4,
            cpus: 8,
            configured: None,
            governor: None,
            others_busy: Some(2.0),
        };
        assert_eq!(decode_threads(inputs), 3);
    }
}
