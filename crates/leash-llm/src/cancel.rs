//! Stopping a generation that is under way: a [`CancelToken`] handed to a
//! backend with [`crate::Backend::set_cancel`] is checked per token (the
//! embedded model's decode loop) or per piece (replay), and a cancelled
//! generation ends with [`crate::BackendError::Cancelled`] — so a cancelled
//! job or fleet request frees the model at once instead of running on to
//! `max_tokens`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A shared cancel flag. Clones share it; once cancelled it stays so.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A fresh, not cancelled token.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Asks every holder to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether someone asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Whether `token` (if any) was cancelled.
pub fn cancelled(token: Option<&CancelToken>) -> bool {
    token.is_some_and(CancelToken::is_cancelled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_flag_and_it_stays_set() {
        let token = CancelToken::new();
        let held = token.clone();
        assert!(!cancelled(Some(&held)));
        assert!(!cancelled(None));
        token.cancel();
        assert!(held.is_cancelled());
        assert!(cancelled(Some(&held)));
    }
}
