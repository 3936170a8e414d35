//! Which part of a new prompt the KV cache already holds (issue #5 item 5).
//!
//! The worker keeps a mirror of the tokens whose keys and values sit in the
//! cache. A new prompt shares a prefix with it — the system prompt across
//! jobs, the whole conversation so far across steps — and only the rest is
//! evaluated.

/// How many leading tokens of `prompt` can be kept from the cache holding
/// `cached`. At least one prompt token is always evaluated again, because
/// sampling needs the logits of the prompt's last token, and the cache keeps
/// only keys and values.
pub(super) fn reusable_prefix<T: PartialEq>(cached: &[T], prompt: &[T]) -> usize {
    let common = cached
        .iter()
        .zip(prompt)
        .take_while(|(cached, new)| cached == new)
        .count();
    common.min(prompt.len().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::empty_cache(&[], &[1, 2, 3], 0)]
    #[case::shared_system_prompt(&[1, 2, 3, 9, 9], &[1, 2, 3, 4], 3)]
    #[case::conversation_grew(&[1, 2, 3], &[1, 2, 3, 4, 5], 3)]
    #[case::identical_prompt_keeps_one_to_evaluate(&[1, 2, 3], &[1, 2, 3], 2)]
    #[case::prompt_is_a_prefix_of_the_cache(&[1, 2, 3, 4], &[1, 2], 1)]
    #[case::nothing_shared(&[7, 8], &[1, 2], 0)]
    #[case::empty_prompt(&[1, 2], &[], 0)]
    fn reuse(#[case] cached: &[u32], #[case] prompt: &[u32], #[case] expected: usize) {
        assert_eq!(reusable_prefix(cached, prompt), expected);
    }
}
