//! A fallback chain: several backends tried in order. When one fails with an
//! error that [`BackendError::falls_back`] (connection, timeout, load, 429,
//! 5xx), the next one gets the same request; every switch is kept so the
//! engine can audit it ([`FallbackChain::take_switches`]), and optionally
//! reported at once through a callback.
//!
//! The chain starts each `generate` from the first backend again: a server
//! that was down a minute ago may be back, and the preferred backend is first.
//! Text already streamed to `on_text` by a backend that then failed stays
//! streamed; the chain cannot take it back, and the engine only uses the
//! [`Generation`] that is finally returned.

use crate::backend::{Backend, BackendError, GenerateRequest, Generation};

/// One switch from a failed backend to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSwitch {
    /// The backend that failed.
    pub from: String,
    /// The backend tried next.
    pub to: String,
    /// Why `from` failed (the error's message).
    pub error: String,
}

/// Called with each switch as it happens.
pub type SwitchObserver = Box<dyn FnMut(&BackendSwitch) + Send>;

/// Backends tried in order.
pub struct FallbackChain {
    backends: Vec<Box<dyn Backend>>,
    switches: Vec<BackendSwitch>,
    observer: Option<SwitchObserver>,
}

impl std::fmt::Debug for FallbackChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackChain")
            .field("backends", &self.backends)
            .field("switches", &self.switches)
            .finish_non_exhaustive()
    }
}

impl FallbackChain {
    /// A chain of these backends, first preferred.
    pub fn new(backends: Vec<Box<dyn Backend>>) -> Self {
        FallbackChain {
            backends,
            switches: Vec::new(),
            observer: None,
        }
    }

    /// Also report each switch to `observer` when it happens.
    pub fn with_observer(mut self, observer: SwitchObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The switches made since the last call, oldest first.
    pub fn take_switches(&mut self) -> Vec<BackendSwitch> {
        std::mem::take(&mut self.switches)
    }

    /// How many backends the chain holds.
    pub fn len(&self) -> usize {
        self.backends.len()
    }

    /// Whether the chain holds no backend (every `generate` then fails).
    pub fn is_empty(&self) -> bool {
        self.backends.is_empty()
    }
}

impl Backend for FallbackChain {
    /// The backends' names joined by ` > ` (the backend that actually
    /// answered is in [`Generation::backend`]).
    fn name(&self) -> String {
        let names: Vec<String> = self.backends.iter().map(|backend| backend.name()).collect();
        names.join(" > ")
    }

    fn set_decode_threads(&mut self, threads: Option<u32>) {
        for backend in &mut self.backends {
            backend.set_decode_threads(threads);
        }
    }

    fn set_cancel(&mut self, cancel: Option<crate::CancelToken>) {
        for backend in &mut self.backends {
            backend.set_cancel(cancel.clone());
        }
    }

    fn generate(&mut self, request: GenerateRequest<'_>) -> Result<Generation, BackendError> {
        let GenerateRequest {
            messages,
            format,
            max_tokens,
            temperature,
            programs,
            mut on_text,
        } = request;
        let count = self.backends.len();
        let mut last_error = None;
        for index in 0..count {
            let attempt = GenerateRequest {
                messages,
                format: format.clone(),
                max_tokens,
                temperature,
                programs,
                on_text: on_text
                    .as_deref_mut()
                    .map(|sink| sink as &mut dyn FnMut(&str)),
            };
            let Some(backend) = self.backends.get_mut(index) else {
                break;
            };
            let error = match backend.generate(attempt) {
                Ok(generation) => return Ok(generation),
                Err(error) => error,
            };
            let next = self.backends.get(index + 1).map(|next| next.name());
            match next {
                Some(to) if error.falls_back() => {
                    let switch = BackendSwitch {
                        from: self
                            .backends
                            .get(index)
                            .map(|b| b.name())
                            .unwrap_or_default(),
                        to,
                        error: error.to_string(),
                    };
                    tracing::warn!(from = %switch.from, to = %switch.to, error = %switch.error,
                        "backend failed; falling back");
                    if let Some(observer) = self.observer.as_mut() {
                        observer(&switch);
                    }
                    self.switches.push(switch);
                    last_error = Some(error);
                }
                Some(_) | None => return Err(error),
            }
        }
        Err(last_error.unwrap_or_else(|| BackendError::Load {
            backend: "fallback".to_string(),
            detail: "the fallback chain has no backend".to_string(),
        }))
    }
}
