//! leash-sandbox: runs one already-approved argv in a box that holds even when the
//! policy is wrong.
//!
//! No async, no networking, no engine. [`probe`] reports which layers this kernel
//! offers; [`Executor::run`] applies every available layer to one child and
//! collects a bounded [`ExecOutcome`]. The layers, what each does and what it
//! cannot do, are documented where they are built: [`Layer`] (overview),
//! `child_plan` (fork/exec), `supervise` (process group, timeout, capture),
//! `landlock_rules`, `seccomp_filter`, `nproc`, `cgroup` and [`scrubbed_env`].
//! [`harden_process`] is what the leash binary does to itself first thing.
//!
//! `unsafe` is denied in this crate except in the modules marked below: the
//! sandbox is where leash makes system calls that no safe wrapper offers in
//! the form it needs. Every `unsafe` block there says why it is sound
//! (`// SAFETY:`).
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod cancel;
mod capture;
mod cgroup;
// Between `fork` and `exec` only raw, allocation-free, async-signal-safe
// system calls may run (close_range, setrlimit, capset, prctl, setres[ug]id,
// landlock_restrict_self, seccomp): safe wrappers allocate or lock.
#[allow(unsafe_code)]
mod child_plan;
mod env;
mod error;
// `CommandExt::pre_exec` is itself an unsafe API, and the child's uid is read
// with getuid.
#[allow(unsafe_code)]
mod executor;
mod landlock_rules;
mod layer;
mod limits;
mod nproc;
mod outcome;
// uname, and the fork-and-wait helper the fatal-if-wrong probes run in.
#[allow(unsafe_code)]
mod platform;
mod private_tmp;
// Landlock and seccomp probed in a forked child that makes only the one
// system call and `_exit`s (probing can kill the caller on some Android
// kernels).
#[allow(unsafe_code)]
mod probe;
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
))]
mod seccomp_filter;
// prctl(PR_SET_DUMPABLE) and closing every inherited descriptor of leash
// itself.
#[allow(unsafe_code)]
mod self_hardening;
mod spec;
// pidfd_open (no wrapper in nix), waitid with WNOWAIT on the group leader,
// wait4 for rusage, kill of a whole process group, non-blocking reads.
#[allow(unsafe_code)]
mod supervise;

pub use cancel::CancelHandle;
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
