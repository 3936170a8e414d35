//! The inference thread. It owns the model, the one `LlamaContext` (which
//! borrows the model and must not be shared between threads) and the mirror of
//! the tokens in its KV cache; [`super::LlamaBackend`] talks to it over
//! channels. Decoding never runs on the caller's (possibly async) thread.

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::time::{Duration, Instant};

use llama_cpp_2::LlamaStateSeqFlags;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data::LlamaTokenData;

use super::closing::{CLOSING_MARGIN, ClosingTokens, JsonCursor};
use super::prefix::reusable_prefix;
use super::prompt::{ChatFormat, TemplateSource};
use super::runtime::llama_runtime;
use super::sampling::Sampler;
use super::saved_prefix::SavedPrefix;
use super::special_text::SpecialTexts;
use super::utf8_stream::Utf8Stream;
use super::{BACKEND_NAME, LlamaConfig};
use crate::threads::{DecodeThreadChoice, DecodeThreadChooser};
use crate::{
    BackendError, ChatMessage, FinishReason, Generation, OutputFormat, OwnedProgramChoice,
    actions_gbnf,
};

/// One generation to run.
#[derive(Debug)]
pub(super) struct Job {
    pub(super) messages: Vec<ChatMessage>,
    pub(super) format: OutputFormat,
    pub(super) max_tokens: u32,
    pub(super) temperature: f32,
    /// What a `run` action may say.
    pub(super) programs: OwnedProgramChoice,
    /// Send [`Event::Text`] pieces (only when someone listens).
    pub(super) stream: bool,
    pub(super) events: Sender<Event>,
    /// Checked before each answer token: a cancelled job stops at once.
    pub(super) cancel: Option<crate::CancelToken>,
    /// The resource governor's cap on decode threads, while it lowers them.
    pub(super) decode_threads_cap: Option<u32>,
}

/// What the worker sends back for a job: text pieces, then exactly one
/// `Finished`.
#[derive(Debug)]
pub(super) enum Event {
    Text(String),
    Finished(Result<Generation, BackendError>),
}

/// Threads for decoding one token at a time, and for prompt batches.
#[derive(Debug, Clone, Copy)]
pub(super) struct Threads {
    pub(super) decode: u32,
    pub(super) batch: u32,
}

/// What the worker reports once the model is loaded.
#[derive(Debug, Clone)]
pub(super) struct LoadedModel {
    pub(super) context_size: u32,
    pub(super) batch_size: u32,
    pub(super) threads: Threads,
    pub(super) template_source: TemplateSource,
}

/// How the worker chooses its decode threads, and where it reports the
/// count in use.
#[derive(Debug)]
pub(super) struct ThreadControl {
    /// The counts the context is created with.
    pub(super) initial: Threads,
    pub(super) chooser: DecodeThreadChooser,
    /// The decode threads of the context now (read by the backend).
    pub(super) current: Arc<AtomicU32>,
}

/// The thread body: load, report, then serve jobs until the job channel
/// closes (the backend was dropped).
pub(super) fn run(
    config: LlamaConfig,
    control: ThreadControl,
    ready: SyncSender<Result<LoadedModel, BackendError>>,
    jobs: Receiver<Job>,
) {
    let threads = control.initial;
    let model = match load_model(&config.model_path) {
        Ok(model) => model,
        Err(err) => {
            let _ = ready.send(Err(err));
            return;
        }
    };
    let mut session = match Session::new(&model, &config, control) {
        Ok(session) => session,
        Err(err) => {
            let _ = ready.send(Err(err));
            return;
        }
    };
    let loaded = LoadedModel {
        context_size: session.n_ctx,
        batch_size: session.n_batch,
        threads,
        template_source: session.format.source,
    };
    if ready.send(Ok(loaded)).is_err() {
        return;
    }
    while let Ok(job) = jobs.recv() {
        session.adapt_threads(job.decode_threads_cap);
        let result = session.generate(&job);
        session.chooser.answer_ended();
        let _ = job.events.send(Event::Finished(result));
    }
}

fn load_error(detail: String) -> BackendError {
    BackendError::Load {
        backend: BACKEND_NAME.to_string(),
        detail,
    }
}

fn inference_error(detail: String) -> BackendError {
    BackendError::Inference {
        backend: BACKEND_NAME.to_string(),
        detail,
    }
}

fn load_model(path: &Path) -> Result<LlamaModel, BackendError> {
    let runtime = llama_runtime()?;
    // mmap: the weights are paged in from the file and shared with the page
    // cache instead of copied onto the heap (phone-sized).
    let params = LlamaModelParams::default().with_use_mmap(true);
    LlamaModel::load_from_file(runtime, path, &params).map_err(|err| {
        load_error(format!(
            "{}: llama.cpp could not load the model ({err}; its log says why)",
            path.display()
        ))
    })
}

/// The loaded model's context and what is known about its KV cache.
struct Session<'model> {
    model: &'model LlamaModel,
    context: LlamaContext<'model>,
    /// The tokens whose keys and values are in the cache, in positions 0..len.
    cached: Vec<LlamaToken>,
    batch: LlamaBatch<'static>,
    n_ctx: u32,
    n_batch: u32,
    format: ChatFormat,
    /// Control-token texts defused in message contents.
    special: SpecialTexts,
    /// The KV cache file shared with the next process, if configured.
    saved: Option<SavedPrefix>,
    /// The last action grammar (GBNF, start rule `root`) and the program
    /// names it was generated for: the same policy gives the same grammar.
    actions_grammar: Option<(OwnedProgramChoice, String)>,
    closing: ClosingTokens,
    /// Scratch space for [`Sampler::sample`].
    candidates: Vec<LlamaTokenData>,
    seed: Option<u32>,
    max_tokens_cap: Option<u32>,
    /// The counts the context runs with.
    threads: Threads,
    chooser: DecodeThreadChooser,
    current_threads: Arc<AtomicU32>,
}

/// The context's parameters: one sequence, a physical batch (ubatch) as large
/// as the logical one (prompt chunks are evaluated in one pass each).
fn context_params(n_ctx: u32, n_batch: u32, threads: Threads) -> LlamaContextParams {
    LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_batch(n_batch)
        .with_n_ubatch(n_batch)
        .with_n_seq_max(1)
        .with_n_threads(i32::try_from(threads.decode).unwrap_or(1))
        .with_n_threads_batch(i32::try_from(threads.batch).unwrap_or(1))
}

impl<'model> Session<'model> {
    fn new(
        model: &'model LlamaModel,
        config: &LlamaConfig,
        control: ThreadControl,
    ) -> Result<Self, BackendError> {
        let n_ctx = config.context_size.max(1);
        let n_batch = config.batch_size.unwrap_or(512).clamp(1, n_ctx);
        let threads = control.initial;
        let params = context_params(n_ctx, n_batch, threads);
        let mut context = model.new_context(llama_runtime()?, params).map_err(|err| {
            load_error(format!(
                "{}: cannot create a context of {n_ctx} tokens ({err})",
                config.model_path.display()
            ))
        })?;
        let format = ChatFormat::choose(model, &config.chat_template_fallback)?;
        let closing = ClosingTokens::from_model(model);
        let special = SpecialTexts::from_model(model);
        let saved = config.session_dir.as_deref().and_then(|dir| {
            SavedPrefix::locate(
                dir,
                &config.model_path,
                n_ctx,
                n_batch,
                &config.chat_template_fallback,
            )
        });
        let cached = saved
            .as_ref()
            .map(|saved| saved.restore(&mut context, n_ctx))
            .unwrap_or_default();
        tracing::debug!(
            special_tokens = special.len(),
            "control-token texts to defuse in contents"
        );
        Ok(Session {
            model,
            context,
            cached,
            batch: LlamaBatch::new(usize::try_from(n_batch).unwrap_or(512), 1),
            n_ctx,
            n_batch,
            format,
            special,
            saved,
            actions_grammar: None,
            closing,
            candidates: Vec::new(),
            seed: config.seed,
            max_tokens_cap: config.max_tokens,
            threads,
            chooser: control.chooser,
            current_threads: control.current,
        })
    }

    /// Chooses the decode threads for the next answer (see
    /// [`crate::threads`]) and, when the count changes, re-creates the
    /// context with it: llama-cpp-2 0.1.160 has no setter for a live
    /// context's threads. The KV cache moves over (`state_seq_get`/`set`,
    /// a copy of the cached tokens' keys and values), so the prefix reuse
    /// survives the change. A context that cannot be created leaves the old
    /// one, and its count, in place.
    ///
    /// The new context is created before the old one is freed, so memory
    /// peaks at two contexts for a moment; in exchange a failure (out of
    /// memory on a phone) costs nothing but the change.
    fn adapt_threads(&mut self, cap: Option<u32>) {
        let choice = self.chooser.choose(cap);
        let previous = self.threads.decode;
        if choice.threads == previous {
            tracing::debug!(
                backend = BACKEND_NAME,
                decode_threads = choice.threads,
                others_busy = ?choice.inputs.others_busy,
                governor = ?choice.inputs.governor,
                choice_us = choice.took.as_micros(),
                "decode threads chosen"
            );
            return;
        }
        let started = Instant::now();
        match self.rebuild_context(choice) {
            Ok(kept_tokens) => tracing::info!(
                backend = BACKEND_NAME,
                decode_threads = choice.threads,
                previous,
                others_busy = ?choice.inputs.others_busy,
                cpus = choice.inputs.cpus,
                configured = ?choice.inputs.configured,
                governor = ?choice.inputs.governor,
                kept_tokens,
                choice_us = choice.took.as_micros(),
                rebuild_ms = started.elapsed().as_secs_f64() * 1e3,
                "decode threads changed"
            ),
            Err(err) => tracing::warn!(
                backend = BACKEND_NAME,
                decode_threads = previous,
                wanted = choice.threads,
                error = %err,
                "cannot change the decode threads; keeping the current count"
            ),
        }
    }

    /// The context again with `choice`'s decode threads and the cached
    /// tokens' KV state; returns how many cached tokens were kept.
    fn rebuild_context(&mut self, choice: DecodeThreadChoice) -> Result<usize, BackendError> {
        let threads = Threads {
            decode: choice.threads,
            batch: self.threads.batch,
        };
        let state = if self.cached.is_empty() {
            None
        } else {
            self.context
                .state_seq_get(0, LlamaStateSeqFlags::empty())
                .map_err(|err| tracing::debug!(error = %err, "the KV state does not copy; starting the new context empty"))
                .ok()
        };
        let params = context_params(self.n_ctx, self.n_batch, threads);
        let mut context = self
            .model
            .new_context(llama_runtime()?, params)
            .map_err(|err| {
                inference_error(format!(
                    "cannot create a context of {} tokens ({err})",
                    self.n_ctx
                ))
            })?;
        let kept = match state {
            Some(state) => match context.state_seq_set(&state, 0) {
                Ok(()) => self.cached.len(),
                Err(err) => {
                    tracing::debug!(error = %err, "the KV state does not load; starting the new context empty");
                    context.clear_kv_cache();
                    0
                }
            },
            None => 0,
        };
        self.context = context;
        self.cached.truncate(kept);
        self.threads = threads;
        self.current_threads
            .store(threads.decode, Ordering::Relaxed);
        Ok(kept)
    }

    fn generate(&mut self, job: &Job) -> Result<Generation, BackendError> {
        let started = Instant::now();
        let prompt = self
            .format
            .render(self.model, &self.special, &job.messages)?;
        let tokens = self.tokenize(&prompt);
        let prompt_len = u32::try_from(tokens.len()).unwrap_or(u32::MAX);
        if tokens.is_empty() {
            return Err(inference_error("the prompt is empty".to_string()));
        }
        if prompt_len >= self.n_ctx {
            return Err(inference_error(format!(
                "the prompt is {prompt_len} tokens but the context holds {} (raise model.context_size or shorten the conversation)",
                self.n_ctx
            )));
        }
        let mut sampler = self.sampler(job)?;
        let result = self.prefill(&tokens).and_then(|(reused, logits_index)| {
            self.decode_answer(job, &mut sampler, logits_index, started)
                .map(|answer| (reused, answer))
        });
        sampler.log_grammar_use();
        if result.is_ok()
            && let Some(saved) = self.saved.as_mut()
        {
            saved.save_once(&self.context, &self.cached);
        }
        match result {
            Ok((reused, answer)) => Ok(Generation {
                text: answer.text,
                reasoning: None,
                finish: answer.finish,
                backend: BACKEND_NAME.to_string(),
                prompt_tokens: prompt_len,
                prompt_tokens_reused: u32::try_from(reused).unwrap_or(u32::MAX),
                generated_tokens: answer.generated,
                time_to_first_token: answer.time_to_first_token.unwrap_or(started.elapsed()),
                total_time: started.elapsed(),
            }),
            Err(err) => {
                // The cache may hold a half-evaluated batch: forget it all.
                self.context.clear_kv_cache();
                self.cached.clear();
                Err(err)
            }
        }
    }

    fn tokenize(&self, prompt: &str) -> Vec<LlamaToken> {
        let vocab = self.model.vocab();
        // The template already wrote the special tokens as text; parse them,
        // and let the vocabulary add BOS if the model wants one.
        let mut tokens = vocab.tokenize(prompt.as_bytes(), true, true);
        // A template that writes BOS itself would now have it twice.
        let bos = vocab.bos();
        if tokens.len() >= 2 && tokens.first() == Some(&bos) && tokens.get(1) == Some(&bos) {
            tokens.remove(0);
        }
        tokens
    }

    /// The action grammar for `programs`, generated again only when the
    /// names changed.
    fn actions_grammar(&mut self, programs: &OwnedProgramChoice) -> &str {
        let stale = match &self.actions_grammar {
            Some((choice, _)) => choice != programs,
            None => true,
        };
        if stale {
            let grammar = actions_gbnf(self.format.reasons, programs.as_choice());
            self.actions_grammar = Some((programs.clone(), grammar));
        }
        self.actions_grammar
            .as_ref()
            .map_or("", |(_, grammar)| grammar.as_str())
    }

    /// The action grammar (for [`OutputFormat::Actions`]) and, apart from it,
    /// top-k, top-p, temperature and a seeded draw — or the single most
    /// likely token at temperature 0. The grammar is not in the chain: see
    /// [`Sampler::sample`] for how the two meet.
    fn sampler(&mut self, job: &Job) -> Result<Sampler, BackendError> {
        let grammar = match &job.format {
            OutputFormat::Shaped(shape) => Some(
                LlamaSampler::grammar(self.model, &shape.gbnf, "root").map_err(|err| {
                    inference_error(format!("the answer grammar does not load: {err}"))
                })?,
            ),
            OutputFormat::Actions => {
                let text = self.actions_grammar(&job.programs).to_string();
                Some(
                    LlamaSampler::grammar(self.model, &text, "root").map_err(|err| {
                        inference_error(format!("the action grammar does not load: {err}"))
                    })?,
                )
            }
            OutputFormat::Text => None,
        };
        let greedy = job.temperature <= 0.0;
        let mut chain = Vec::with_capacity(4);
        if greedy {
            chain.push(LlamaSampler::greedy());
        } else {
            chain.push(LlamaSampler::top_k(40));
            chain.push(LlamaSampler::top_p(0.95, 1));
            chain.push(LlamaSampler::temp(job.temperature));
            // u32::MAX is llama.cpp's "pick a random seed".
            chain.push(LlamaSampler::dist(self.seed.unwrap_or(u32::MAX)));
        }
        Ok(Sampler::new(
            grammar,
            LlamaSampler::chain_simple(chain),
            greedy,
        ))
    }

    /// Brings the KV cache to `tokens`: keeps the longest prefix it already
    /// holds, drops the rest, evaluates the new tokens in chunks of at most
    /// `n_batch`. Returns the number of reused tokens and the batch index of
    /// the last token's logits.
    fn prefill(&mut self, tokens: &[LlamaToken]) -> Result<(usize, i32), BackendError> {
        let mut reused = reusable_prefix(&self.cached, tokens);
        if reused < self.cached.len() {
            let removed = u32::try_from(reused)
                .ok()
                .and_then(|p0| {
                    self.context
                        .clear_kv_cache_seq(Some(0), Some(p0), None)
                        .ok()
                })
                .unwrap_or(false);
            if removed {
                self.cached.truncate(reused);
            } else {
                // Partial removal is unsupported (e.g. recurrent models):
                // start over.
                tracing::debug!(
                    reused,
                    "partial KV removal unsupported; re-evaluating the prompt"
                );
                self.context.clear_kv_cache();
                self.cached.clear();
                reused = 0;
            }
        }
        let chunk_len = usize::try_from(self.n_batch).unwrap_or(512).max(1);
        let new_tokens = tokens.get(reused..).unwrap_or_default();
        let mut logits_index = 0;
        for (chunk_no, chunk) in new_tokens.chunks(chunk_len).enumerate() {
            let is_last_chunk = (chunk_no + 1) * chunk_len >= new_tokens.len();
            self.batch.clear();
            for (i, token) in chunk.iter().enumerate() {
                let pos = i32::try_from(self.cached.len() + i)
                    .map_err(|_| inference_error("position overflow".to_string()))?;
                let wants_logits = is_last_chunk && i + 1 == chunk.len();
                self.batch
                    .add(*token, pos, &[0], wants_logits)
                    .map_err(|err| inference_error(format!("prompt batch: {err}")))?;
            }
            self.context
                .decode(&mut self.batch)
                .map_err(|err| inference_error(format!("evaluating the prompt: {err}")))?;
            self.cached.extend_from_slice(chunk);
            logits_index = self.batch.n_tokens() - 1;
        }
        tracing::debug!(
            prompt_tokens = tokens.len(),
            reused,
            evaluated = new_tokens.len(),
            "prompt in the KV cache"
        );
        Ok((reused, logits_index))
    }

    /// Samples and evaluates answer tokens until end-of-generation, the token
    /// limit or a full context. Action plans are steered to a close in the
    /// last tokens of the budget (see [`super::closing`]).
    fn decode_answer(
        &mut self,
        job: &Job,
        sampler: &mut Sampler,
        mut logits_index: i32,
        started: Instant,
    ) -> Result<Answer, BackendError> {
        let requested = match self.max_tokens_cap {
            Some(cap) => job.max_tokens.min(cap),
            None => job.max_tokens,
        };
        // Every answer token but the last is evaluated, one position each.
        let room = u32::try_from(
            usize::try_from(self.n_ctx)
                .unwrap_or(usize::MAX)
                .saturating_sub(self.cached.len()),
        )
        .unwrap_or(u32::MAX)
        .saturating_add(1);
        let budget = requested.min(room);
        let closing_from = match &job.format {
            OutputFormat::Actions => budget.saturating_sub(CLOSING_MARGIN),
            // A shaped answer bounds its own lengths in its grammar.
            OutputFormat::Text | OutputFormat::Shaped(_) => u32::MAX,
        };
        let vocab = self.model.vocab();
        let mut answer = Answer {
            text: String::new(),
            finish: FinishReason::Length,
            generated: 0,
            time_to_first_token: None,
        };
        let mut utf8 = Utf8Stream::default();
        let mut cursor = JsonCursor::default();
        let mut piece = Vec::with_capacity(32);
        while answer.generated < budget {
            if crate::cancelled(job.cancel.as_ref()) {
                return Err(BackendError::Cancelled {
                    backend: BACKEND_NAME.to_string(),
                    generated_tokens: answer.generated,
                });
            }
            let closing = (answer.generated >= closing_from).then_some((&self.closing, &cursor));
            let token =
                sampler.sample(&self.context, logits_index, closing, &mut self.candidates)?;
            answer
                .time_to_first_token
                .get_or_insert_with(|| started.elapsed());
            if vocab.is_eog(token) {
                // A plan that had to be steered to a close was cut short.
                if answer.generated < closing_from {
                    answer.finish = FinishReason::Stop;
                }
                break;
            }
            answer.generated += 1;
            piece.clear();
            vocab.token_to_piece_into(token, &mut piece, false, None);
            let text = utf8.push(&piece);
            cursor.advance(&text);
            if !text.is_empty() {
                if job.stream {
                    let _ = job.events.send(Event::Text(text.clone()));
                }
                answer.text.push_str(&text);
            }
            // The last token needs no evaluation: nothing samples after it.
            if answer.generated >= budget {
                break;
            }
            self.batch.clear();
            let pos = i32::try_from(self.cached.len())
                .map_err(|_| inference_error("position overflow".to_string()))?;
            self.batch
                .add(token, pos, &[0], true)
                .map_err(|err| inference_error(format!("answer batch: {err}")))?;
            self.context
                .decode(&mut self.batch)
                .map_err(|err| inference_error(format!("evaluating the answer: {err}")))?;
            self.cached.push(token);
            logits_index = 0;
        }
        let rest = utf8.finish();
        if !rest.is_empty() {
            if job.stream {
                let _ = job.events.send(Event::Text(rest.clone()));
            }
            answer.text.push_str(&rest);
        }
        Ok(answer)
    }
}

/// What [`Session::decode_answer`] produced.
struct Answer {
    text: String,
    finish: FinishReason,
    generated: u32,
    time_to_first_token: Option<Duration>,
}
