//! What can stop an execution before or while it runs.

use std::path::PathBuf;

use crate::layer::Layer;

/// Why [`crate::Executor::run`] did not produce an outcome. Every variant names
/// what it is about; in all of them the child either never started or was
/// stopped before it could run its program.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A layer listed in `required` is not available: nothing was spawned.
    #[error("sandbox layer `{layer}` is required but unavailable: {why}")]
    RequiredLayerMissing {
        /// The missing layer.
        layer: Layer,
        /// What the probe found.
        why: String,
    },
    /// The spec itself is unusable (relative program, empty argv, ...).
    #[error("invalid sandbox spec: {what}")]
    InvalidSpec {
        /// What is wrong, naming the field.
        what: String,
    },
    /// Preparing a layer in the parent failed (ruleset, filter, rlimit query).
    #[error("preparing sandbox layer `{layer}` failed: {message}")]
    LayerSetup {
        /// The layer being prepared.
        layer: Layer,
        /// The underlying error.
        message: String,
    },
    /// Applying a layer in the child, after fork and before exec, failed; the
    /// program was not executed.
    #[error("applying sandbox layer `{layer}` in the child failed: {source}")]
    LayerApply {
        /// The layer the child was applying.
        layer: Layer,
        /// The errno the child saw.
        source: std::io::Error,
    },
    /// The private temporary directory could not be created under `base`.
    #[error("creating a private tmp under {} failed: {source}", base.display())]
    PrivateTmp {
        /// The base directory.
        base: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// fork/exec of the program failed (not found, not executable, ...).
    #[error("starting {} failed: {source}", program.display())]
    Spawn {
        /// The program that could not be started.
        program: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The run was cancelled before its program was started.
    #[error("cancelled before {} was started", program.display())]
    Cancelled {
        /// The program that was not started.
        program: PathBuf,
    },
    /// Supervising the running child failed (poll, read, wait); the group has
    /// been killed.
    #[error("supervising {} failed: {source}", program.display())]
    Supervise {
        /// The program being supervised.
        program: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}
