//! The worker's backend on the governor's leash: before each answer it waits
//! while the device is hot (a running job pauses between steps instead of
//! heating the phone further), and it passes the governor's decode-thread
//! count on to the backend (lowered while warm).

use std::sync::Arc;
use std::time::Duration;

use leash_llm::{Backend, BackendError, GenerateRequest, Generation};

use super::Gate;
use crate::context::DaemonContext;

/// How often a paused answer checks the stop flag.
const PAUSE_CHECK: Duration = Duration::from_secs(1);

/// Wraps the worker's backend.
pub struct GovernedBackend {
    inner: Box<dyn Backend>,
    ctx: Arc<DaemonContext>,
    threads: Option<u32>,
}

impl std::fmt::Debug for GovernedBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GovernedBackend")
            .field("inner", &self.inner)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl GovernedBackend {
    /// Wraps `inner` so each generation waits while the governor pauses and
    /// runs with fewer threads while the device is warm.
    pub fn new(inner: Box<dyn Backend>, ctx: Arc<DaemonContext>) -> Self {
        GovernedBackend {
            inner,
            ctx,
            threads: None,
        }
    }
}

impl Backend for GovernedBackend {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn set_decode_threads(&mut self, threads: Option<u32>) {
        self.inner.set_decode_threads(threads);
    }

    fn set_cancel(&mut self, cancel: Option<leash_llm::CancelToken>) {
        self.inner.set_cancel(cancel);
    }

    fn generate(&mut self, request: GenerateRequest<'_>) -> Result<Generation, BackendError> {
        let mut announced = false;
        // A stopping daemon lets the answer go ahead: the job then ends (or is
        // interrupted and re-queued) the usual way.
        while self.ctx.governor.gate() == Gate::Paused && !self.ctx.is_stopping() {
            if !announced {
                tracing::info!("inference paused by the resource governor (device hot)");
                announced = true;
            }
            self.ctx.governor.wait_for_change(PAUSE_CHECK);
        }
        let threads = self.ctx.governor.state().decode_threads();
        if threads != self.threads {
            self.inner.set_decode_threads(threads);
            self.threads = threads;
        }
        self.inner.generate(request)
    }
}
