//! Choosing the next token, with the action grammar applied *lazily*, as
//! llama.cpp's own `common_sampler` does.
//!
//! Filtering the whole vocabulary (49k tokens for SmolLM2) through the
//! grammar's stacks at every step is what made constrained decoding slow:
//! 0.45× the speed of free text, measured. Most tokens of a plan are what the
//! grammar wants anyway, so the chain picks a token from the unconstrained
//! candidates, and only that one token is checked against the grammar (a
//! one-entry candidate array). Only when the grammar refuses it is the choice
//! made again under the grammar:
//!
//! - greedy (temperature 0): among the [`GREEDY_RETRY_CANDIDATES`] most likely
//!   tokens first — the most likely allowed token is almost always there, and
//!   is then exactly the grammar-first answer — and over the whole vocabulary
//!   only when none of them is allowed;
//! - otherwise: the grammar over the whole vocabulary, then the chain again,
//!   as `common_sampler` does.
//!
//! At temperature 0 the result is exactly the grammar-first result: the most
//! likely token, if allowed, is also the most likely allowed token.
//! Measured by `cargo bench -p leash-llm --features llama --bench llama_decode`.

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;

use super::BACKEND_NAME;
use super::closing::{ClosingTokens, JsonCursor};
use crate::BackendError;

/// How many of the most likely tokens a greedy retry checks against the
/// grammar before it filters the whole vocabulary.
const GREEDY_RETRY_CANDIDATES: usize = 64;

/// The samplers of one answer.
pub(super) struct Sampler {
    /// The action grammar, kept out of `chain`.
    grammar: Option<LlamaSampler>,
    /// Top-k, top-p, temperature and a draw, or greedy.
    chain: LlamaSampler,
    /// `chain` is greedy: the most likely token wins.
    greedy: bool,
    /// Tokens checked against the grammar, how many it refused, and how many
    /// of those needed a pass over the whole vocabulary.
    checked: u32,
    refused: u32,
    full_passes: u32,
}

impl Sampler {
    pub(super) fn new(grammar: Option<LlamaSampler>, chain: LlamaSampler, greedy: bool) -> Self {
        Sampler {
            grammar,
            chain,
            greedy,
            checked: 0,
            refused: 0,
            full_passes: 0,
        }
    }

    /// Logs how the grammar was applied (at debug level).
    pub(super) fn log_grammar_use(&self) {
        if self.grammar.is_some() {
            tracing::debug!(
                checked = self.checked,
                refused = self.refused,
                full_passes = self.full_passes,
                "lazy grammar sampling"
            );
        }
    }

    /// Samples the token after the logits at `index` and accepts it exactly
    /// once. `closing` steers an action plan to a close (the end of its
    /// budget); `scratch` is reused between tokens (a vocabulary-sized array
    /// allocated per token would cost a few percent of decode speed).
    ///
    /// Without a grammar and without closing bias, `LlamaSampler::sample`
    /// does both in one C call, as a direct llama.cpp loop would. The grammar
    /// accepts the token with `try_accept`, which (with the crate's `common`
    /// feature) returns a grammar error as a value instead of aborting.
    pub(super) fn sample(
        &mut self,
        context: &LlamaContext<'_>,
        index: i32,
        closing: Option<(&ClosingTokens, &JsonCursor)>,
        scratch: &mut Vec<LlamaTokenData>,
    ) -> Result<LlamaToken, BackendError> {
        if self.grammar.is_none() && closing.is_none() {
            return Ok(self.chain.sample(context, index));
        }
        let mut token = match (self.greedy, closing) {
            (true, None) => most_likely(context.get_logits_ith(index))?,
            (true, Some(_)) | (false, _) => {
                candidates(context, index, closing, scratch);
                choose(scratch, &mut self.chain, None)?
            }
        };
        if let Some(grammar) = self.grammar.as_mut() {
            self.checked += 1;
            if !grammar_allows(grammar, token) {
                self.refused += 1;
                candidates(context, index, closing, scratch);
                let retried = if self.greedy {
                    most_likely_allowed(scratch, grammar)
                } else {
                    None
                };
                token = match retried {
                    Some(token) => token,
                    None => {
                        self.full_passes += 1;
                        candidates(context, index, closing, scratch);
                        choose(scratch, &mut self.chain, Some(grammar))?
                    }
                };
            }
            grammar.try_accept(token).map_err(|err| {
                inference_error(format!("the grammar rejected the sampled token: {err}"))
            })?;
        }
        self.chain.accept(token);
        Ok(token)
    }
}

fn inference_error(detail: String) -> BackendError {
    BackendError::Inference {
        backend: BACKEND_NAME.to_string(),
        detail,
    }
}

/// Fills `scratch` with the candidates of the logits at `index` (indexed by
/// token id), with the closing bias when steering to a close.
fn candidates(
    context: &LlamaContext<'_>,
    index: i32,
    closing: Option<(&ClosingTokens, &JsonCursor)>,
    scratch: &mut Vec<LlamaTokenData>,
) {
    scratch.clear();
    scratch.extend(context.candidates_ith(index));
    if let Some((closing, cursor)) = closing {
        let mut array = LlamaTokenDataArray::new(std::mem::take(scratch), false);
        closing.favour(cursor, &mut array);
        *scratch = array.data;
    }
}

/// Runs `chain` (after `grammar`, when given) over the candidates and
/// returns the selected token. `scratch` is left holding what remains.
fn choose(
    scratch: &mut Vec<LlamaTokenData>,
    chain: &mut LlamaSampler,
    grammar: Option<&mut LlamaSampler>,
) -> Result<LlamaToken, BackendError> {
    let mut array = LlamaTokenDataArray::new(std::mem::take(scratch), false);
    if let Some(grammar) = grammar {
        array.apply_sampler(grammar);
    }
    array.apply_sampler(chain);
    let token = array.selected_token();
    *scratch = array.data;
    token.ok_or_else(|| inference_error("the sampler selected no token".to_string()))
}

/// The token with the highest logit (the first of equals, as llama.cpp's
/// greedy sampler picks it), without building a candidate array.
fn most_likely(logits: &[f32]) -> Result<LlamaToken, BackendError> {
    let mut best: Option<(usize, f32)> = None;
    for (id, logit) in logits.iter().copied().enumerate() {
        if best.is_none_or(|(_, top)| logit > top) {
            best = Some((id, logit));
        }
    }
    best.and_then(|(id, _)| i32::try_from(id).ok())
        .map(LlamaToken::new)
        .ok_or_else(|| inference_error("the model produced no logits".to_string()))
}

/// Among the [`GREEDY_RETRY_CANDIDATES`] most likely candidates, the most
/// likely one the grammar allows; `None` when it allows none of them.
/// Reorders `scratch`.
fn most_likely_allowed(
    scratch: &mut [LlamaTokenData],
    grammar: &mut LlamaSampler,
) -> Option<LlamaToken> {
    let by_logit = |a: &LlamaTokenData, b: &LlamaTokenData| b.logit().total_cmp(&a.logit());
    let top = if scratch.len() > GREEDY_RETRY_CANDIDATES {
        scratch.select_nth_unstable_by(GREEDY_RETRY_CANDIDATES, by_logit);
        scratch.get(..GREEDY_RETRY_CANDIDATES)?
    } else {
        scratch
    };
    let mut array = LlamaTokenDataArray::new(top.to_vec(), false);
    array.apply_sampler(grammar);
    // The highest logit, the lowest id among equals: what the greedy sampler
    // picks from the id-ordered vocabulary.
    array
        .data
        .iter()
        .filter(|candidate| candidate.logit().is_finite())
        .min_by(|a, b| {
            b.logit()
                .total_cmp(&a.logit())
                .then_with(|| a.id().0.cmp(&b.id().0))
        })
        .map(LlamaTokenData::id)
}

/// Whether the grammar, in its current state, allows `token` next: the
/// grammar sampler sets the logit of a refused candidate to -inf.
fn grammar_allows(grammar: &mut LlamaSampler, token: LlamaToken) -> bool {
    let mut single = LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, 1.0, 0.0)], false);
    single.apply_sampler(grammar);
    single
        .data
        .first()
        .is_some_and(|candidate| candidate.logit().is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_likely_takes_the_first_of_equal_logits() {
        let token = most_likely(&[0.5, 2.0, -1.0, 2.0]).unwrap();
        assert_eq!(token, LlamaToken::new(1));
        assert!(most_likely(&[]).is_err());
    }
}
