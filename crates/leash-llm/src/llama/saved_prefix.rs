//! The KV cache saved across restarts (issue #5, item 5, optional part): a
//! restarted daemon loads the cache the previous process saved instead of
//! evaluating the system prompt again (about 2 s on a 2-core machine for a
//! ~1,000-token prompt with the 135M model; far more for bigger models on a
//! phone).
//!
//! One file per (model file, its size and mtime, context and batch size, chat
//! template, llama-cpp-2 version) in `<cache dir>/llama-sessions/`, so a
//! changed model or setting never loads a stale cache. It is written once per
//! process, after the first answer, to a temp file then renamed (mode 0600:
//! it holds that job's prompt). A file that does not load is removed and the
//! prompt is evaluated as usual: the cache only ever saves time.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::token::LlamaToken;
use sha2::{Digest, Sha256};

/// Bumped when the way leash fills the cache changes.
const FORMAT: &str = "leash-kv-1";

/// Where this model's saved cache lives, and whether this process saved it.
#[derive(Debug)]
pub(super) struct SavedPrefix {
    path: PathBuf,
    saved: bool,
}

impl SavedPrefix {
    /// The saved-cache file for this model and these settings, in `dir`.
    /// `None` when the model file's metadata cannot be read.
    pub(super) fn locate(
        dir: &Path,
        model_path: &Path,
        n_ctx: u32,
        n_batch: u32,
        template: &str,
    ) -> Option<SavedPrefix> {
        let meta = std::fs::metadata(model_path).ok()?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut key = Sha256::new();
        for part in [
            FORMAT.to_owned(),
            model_path.display().to_string(),
            meta.len().to_string(),
            mtime.to_string(),
            n_ctx.to_string(),
            n_batch.to_string(),
            template.to_owned(),
        ] {
            key.update(part.as_bytes());
            key.update([0]);
        }
        let name = format!("{}.kv", hex::encode(&key.finalize()[..12]));
        Some(SavedPrefix {
            path: dir.join(name),
            saved: false,
        })
    }

    /// Loads the saved cache into `context`; returns the tokens it holds, or
    /// nothing (a missing or unusable file; an unusable one is removed).
    pub(super) fn restore(&self, context: &mut LlamaContext<'_>, n_ctx: u32) -> Vec<LlamaToken> {
        if !self.path.is_file() {
            return Vec::new();
        }
        match context.state_load_file(&self.path, usize::try_from(n_ctx).unwrap_or(0)) {
            Ok(tokens) => {
                tracing::info!(path = %self.path.display(), tokens = tokens.len(), "restored the saved KV cache");
                tokens
            }
            Err(err) => {
                tracing::warn!(path = %self.path.display(), error = %err, "the saved KV cache does not load; removing it");
                context.clear_kv_cache();
                let _ = std::fs::remove_file(&self.path);
                Vec::new()
            }
        }
    }

    /// Saves `context` (holding `tokens`) once per process.
    pub(super) fn save_once(&mut self, context: &LlamaContext<'_>, tokens: &[LlamaToken]) {
        if self.saved || tokens.is_empty() {
            return;
        }
        self.saved = true;
        if let Err(err) = self.save(context, tokens) {
            tracing::warn!(path = %self.path.display(), error = %err, "could not save the KV cache");
        }
    }

    fn save(&self, context: &LlamaContext<'_>, tokens: &[LlamaToken]) -> Result<(), String> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("create {}: {e}", dir.display()))?;
        let tmp = self
            .path
            .with_extension(format!("kv.tmp-{}", std::process::id()));
        // Created first with mode 0600 (and never through a planted link),
        // then filled by llama.cpp, which opens it by name.
        let _ = std::fs::remove_file(&tmp);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| f.flush())
            .map_err(|e| format!("create {}: {e}", tmp.display()))?;
        context
            .state_save_file(&tmp, tokens)
            .map_err(|e| format!("llama.cpp could not save the state: {e}"))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| format!("rename into place: {e}"))?;
        tracing::info!(path = %self.path.display(), tokens = tokens.len(), "saved the KV cache for the next start");
        Ok(())
    }
}
