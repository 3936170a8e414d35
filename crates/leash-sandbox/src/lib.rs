//! leash-sandbox: runs one already-approved argv in a box that holds even when the
//! policy is wrong.
//!
//! No async, no networking, no engine. [`probe`] reports which layers this kernel
//! offers; [`Executor::run`] applies every available layer to one child and
//! collects a bounded [`ExecOutcome`]. The layers, what each does and what it
//! cannot do, are documented where they are built: [`Layer`] (overview),
//! `child_plan` (fork/exec), `supervise` (process group, timeout, capture),
//! `landlock_rules`, `seccomp_filter`, `nproc` and [`scrubbed_env`].
//! [`harden_process`] is what the leash binary does to itself first thing.

mod capture;
mod child_plan;
mod env;
mod error;
mod executor;
mod landlock_rules;
mod layer;
mod limits;
mod nproc;
mod outcome;
mod platform;
mod private_tmp;
mod probe;
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
))]
mod seccomp_filter;
mod self_hardening;
mod spec;
mod supervise;

pub use env::{TermuxEnv, scrubbed_env};
pub use error::SandboxError;
pub use executor::Executor;
pub use layer::{Layer, LayerReport, LayerState, LayerStatus, UnknownLayer};
pub use limits::{LimitKind, Limits};
pub use outcome::{Captured, ExecOutcome, ExitKind};
pub use private_tmp::PrivateTmp;
pub use probe::probe;
pub use self_hardening::{Hardening, harden_process, is_non_dumpable};
pub use spec::{RunAs, SandboxSpec};
