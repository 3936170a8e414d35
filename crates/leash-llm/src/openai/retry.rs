//! When to try a request again: 429 and 5xx answers, with exponential
//! backoff, honouring the server's `Retry-After`, never past the total
//! timeout.

use std::time::Duration;

use super::config::RetryPolicy;

/// Whether an HTTP status is worth retrying.
pub(crate) fn is_retryable(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// `Retry-After` in delay-seconds form. The HTTP-date form is not used by the
/// servers leash talks to; it falls back to the computed backoff.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The wait before attempt `attempt + 1` (attempt counts from 1).
pub(crate) fn backoff(
    policy: &RetryPolicy,
    attempt: u32,
    retry_after: Option<Duration>,
) -> Duration {
    let exponential = policy
        .initial_backoff
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
    retry_after.unwrap_or(exponential).min(policy.max_backoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_and_caps() {
        let policy = RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
        };
        assert_eq!(backoff(&policy, 1, None), Duration::from_millis(100));
        assert_eq!(backoff(&policy, 2, None), Duration::from_millis(200));
        assert_eq!(backoff(&policy, 3, None), Duration::from_millis(350));
        assert_eq!(
            backoff(&policy, 1, Some(Duration::from_secs(9))),
            Duration::from_millis(350)
        );
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
