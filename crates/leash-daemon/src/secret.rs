//! Comparing secrets (the API token, approval nonces) without leaking them
//! through timing.

use sha2::{Digest, Sha256};

/// Constant-time comparison, through both sides' sha256 (so the length is not
/// leaked either). An empty expected secret matches nothing: a missing token
/// file must never mean "no token needed".
pub(crate) fn secrets_match(expected: &str, given: &str) -> bool {
    if expected.is_empty() {
        return false;
    }
    let a = Sha256::digest(expected.as_bytes());
    let b = Sha256::digest(given.as_bytes());
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_secrets_match_and_others_do_not() {
        assert!(secrets_match("abc", "abc"));
        assert!(!secrets_match("abc", "abd"));
        assert!(!secrets_match("abc", "abcd"));
        assert!(!secrets_match("", ""), "an empty secret matches nothing");
    }
}
