//! The executor: checks required layers, prepares every layer in the parent,
//! spawns the program with the child-side steps, supervises it, and turns the
//! result into an [`ExecOutcome`].

use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::resource::{Resource, getrlimit, rlim_t};

use crate::cancel::CancelHandle;
use crate::cgroup::{CommandCgroup, Hierarchy};
use crate::child_plan::{
    CapabilityPlan, ChildPlan, FailurePipe, RlimitSetting, read_failure, seccomp_programs,
};
use crate::env::TermuxEnv;
use crate::error::SandboxError;
use crate::landlock_rules::{build_ruleset, build_secret_mask};
use crate::layer::{Layer, LayerReport};
use crate::limits::{LimitKind, Limits};
use crate::nproc::tasks_of_uid;
use crate::outcome::{ExecOutcome, ExitKind};
use crate::private_tmp::PrivateTmp;
use crate::spec::{RunAs, SandboxSpec};
use crate::supervise::{Finished, supervise};

const MIB: u64 = 1024 * 1024;

/// Runs sandboxed children with the layers a [`LayerReport`] found active.
#[derive(Debug, Clone)]
pub struct Executor {
    report: LayerReport,
    termux_prefix: Option<PathBuf>,
    capabilities: CapabilityPlan,
    /// The Landlock secret mask and the mtimes of `/` and `/etc` it was built
    /// for; rebuilt when either changes.
    secret_mask: Arc<Mutex<Option<CachedMask>>>,
    /// Where command cgroups are made, when the cgroup layer is active (or
    /// why it could not be found again after the probe).
    cgroups: Result<Hierarchy, String>,
}

#[derive(Debug)]
struct CachedMask {
    built_for: (Option<SystemTime>, Option<SystemTime>),
    fd: Arc<OwnedFd>,
}

fn mask_key() -> (Option<SystemTime>, Option<SystemTime>) {
    let mtime = |p: &str| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (mtime("/"), mtime("/etc"))
}

impl Executor {
    /// An executor applying every layer `report` lists as active.
    pub fn new(report: LayerReport) -> Executor {
        let termux_prefix = if report.termux {
            TermuxEnv::from_process_env().map(|t| t.prefix)
        } else {
            None
        };
        let cgroups = if report.is_active(Layer::Cgroup) {
            Hierarchy::discover()
        } else {
            Err("the cgroup layer is not active".to_owned())
        };
        Executor {
            report,
            cgroups,
            termux_prefix,
            capabilities: CapabilityPlan::for_current_process(),
            secret_mask: Arc::new(Mutex::new(None)),
        }
    }

    /// The report this executor was built from.
    pub fn report(&self) -> &LayerReport {
        &self.report
    }

    /// Runs one spec to completion. A missing required layer, an invalid spec
    /// or a layer that cannot be prepared fails before anything is spawned; a
    /// layer that fails in the child stops the child before exec.
    pub fn run(&self, spec: &SandboxSpec) -> Result<ExecOutcome, SandboxError> {
        self.run_inner(spec, None)
    }

    /// [`Executor::run`], ended early (SIGKILL to the whole command: group
    /// and cgroup) when `cancel` is cancelled; a run cancelled before the
    /// spawn is not started ([`SandboxError::Cancelled`]).
    pub fn run_cancellable(
        &self,
        spec: &SandboxSpec,
        cancel: &CancelHandle,
    ) -> Result<ExecOutcome, SandboxError> {
        self.run_inner(spec, Some(cancel))
    }

    fn run_inner(
        &self,
        spec: &SandboxSpec,
        cancel: Option<&CancelHandle>,
    ) -> Result<ExecOutcome, SandboxError> {
        validate(spec, &self.report)?;
        if let Some((layer, why)) = self.report.missing(&spec.required).into_iter().next() {
            return Err(SandboxError::RequiredLayerMissing { layer, why });
        }
        let tmp = PrivateTmp::create(&spec.tmp_base, spec.run_as).map_err(|source| {
            SandboxError::PrivateTmp {
                base: spec.tmp_base.clone(),
                source,
            }
        })?;
        let pipe = FailurePipe::new().map_err(|e| setup_error(Layer::Exec, e))?;
        // Made before the spawn and dropped after supervision (or on any
        // early return): dropping it kills what is left and removes it.
        let mut cgroup = self.command_cgroup(&spec.limits)?;
        let mut plan = self.prepare(spec, &tmp, pipe.write)?;
        if let Some(cgroup) = &cgroup {
            plan.cgroup_procs = Some(cgroup.open_procs().map_err(|e| {
                setup_error(Layer::Cgroup, format!("{}: {e}", cgroup.dir().display()))
            })?);
        }

        let mut command = Command::new(&spec.program);
        if let Some((argv0, rest)) = spec.argv.split_first() {
            command.arg0(argv0).args(rest);
        }
        command
            .env_clear()
            .envs(child_env(&spec.env, &tmp))
            .current_dir(&spec.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // SAFETY: `ChildPlan::apply` only makes raw system calls on data
        // prepared above; it does not allocate, lock or unwind.
        unsafe {
            command.pre_exec(move || plan.apply());
        }
        if cancel.is_some_and(CancelHandle::is_cancelled) {
            return Err(SandboxError::Cancelled {
                program: spec.program.clone(),
            });
        }
        let started = Instant::now();
        let spawned = command.spawn();
        drop(command); // closes the parent's copy of the failure pipe's write end
        let mut child = match spawned {
            Ok(child) => child,
            Err(source) => {
                return Err(match read_failure(pipe.read) {
                    Some((layer, source)) => SandboxError::LayerApply { layer, source },
                    None => SandboxError::Spawn {
                        program: spec.program.clone(),
                        source,
                    },
                });
            }
        };
        let pid = libc::pid_t::try_from(child.id()).map_err(|e| SandboxError::Supervise {
            program: spec.program.clone(),
            source: std::io::Error::other(e),
        })?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            crate::supervise::kill_group(pid, libc::SIGKILL);
            let _ = crate::supervise::reap(pid);
            return Err(SandboxError::Supervise {
                program: spec.program.clone(),
                source: std::io::Error::other("stdout/stderr pipes missing"),
            });
        };
        let finished = supervise(
            pid,
            OwnedFd::from(stdout),
            OwnedFd::from(stderr),
            &spec.limits,
            started,
            cgroup.as_mut(),
            cancel.map(CancelHandle::wake_fd),
        )
        .map_err(|source| SandboxError::Supervise {
            program: spec.program.clone(),
            source,
        })?;
        drop(cgroup);
        drop(tmp);
        let outcome = self.outcome(finished, started, &spec.limits);
        tracing::debug!(
            program = %spec.program.display(),
            status = ?outcome.status,
            duration_ms = outcome.duration.as_millis() as u64,
            limit_hit = ?outcome.limit_hit,
            "sandboxed run finished"
        );
        Ok(outcome)
    }

    /// Prepares the child-side steps in the parent: rlimit values, the Landlock
    /// ruleset fd and the compiled seccomp programs.
    fn prepare(
        &self,
        spec: &SandboxSpec,
        tmp: &PrivateTmp,
        failure_write: OwnedFd,
    ) -> Result<ChildPlan, SandboxError> {
        let rlimits = if self.report.is_active(Layer::Rlimits) {
            rlimit_settings(&spec.limits, spec.run_as)?
        } else {
            Vec::new()
        };
        let landlock = if self.report.is_active(Layer::Landlock) {
            let fd = build_ruleset(spec, tmp.path(), self.termux_prefix.as_deref()).map_err(
                |message| SandboxError::LayerSetup {
                    layer: Layer::Landlock,
                    message,
                },
            )?;
            Some(fd)
        } else {
            None
        };
        let seccomp = if self.report.is_active(Layer::Seccomp) {
            seccomp_programs(spec.network).map_err(|message| SandboxError::LayerSetup {
                layer: Layer::Seccomp,
                message,
            })?
        } else {
            Vec::new()
        };
        // Leash never raises its own RLIMIT_NOFILE, so no fd of it is above
        // the soft limit; the fallback loop in the child stops there.
        let fd_bound = getrlimit(Resource::RLIMIT_NOFILE)
            .map(|(soft, _)| libc::c_int::try_from(soft).unwrap_or(libc::c_int::MAX))
            .unwrap_or(65_536);
        let landlock_mask = if landlock.is_some() {
            Some(self.secret_mask()?)
        } else {
            None
        };
        Ok(ChildPlan {
            fd_bound,
            landlock_mask,
            capabilities: self.capabilities,
            run_as: spec.run_as,
            rlimits,
            no_new_privs: self.report.is_active(Layer::NoNewPrivs),
            landlock,
            seccomp,
            cgroup_procs: None,
            failure_write,
        })
    }

    /// The run's own cgroup when the cgroup layer is active. Failing to make
    /// it refuses the run (fail closed), like any other active layer that
    /// cannot be prepared.
    fn command_cgroup(&self, limits: &Limits) -> Result<Option<CommandCgroup>, SandboxError> {
        if !self.report.is_active(Layer::Cgroup) {
            return Ok(None);
        }
        let hierarchy = self
            .cgroups
            .as_ref()
            .map_err(|why| setup_error(Layer::Cgroup, why))?;
        hierarchy.create(limits).map(Some).map_err(|e| {
            setup_error(
                Layer::Cgroup,
                format!(
                    "making a command cgroup under {}: {e}",
                    hierarchy.parent.display()
                ),
            )
        })
    }

    /// The cached secret mask, rebuilt when `/` or `/etc` changed.
    fn secret_mask(&self) -> Result<Arc<OwnedFd>, SandboxError> {
        let key = mask_key();
        let mut cached = self
            .secret_mask
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(mask) = cached.as_ref()
            && mask.built_for == key
        {
            return Ok(Arc::clone(&mask.fd));
        }
        let fd = Arc::new(
            build_secret_mask().map_err(|message| SandboxError::LayerSetup {
                layer: Layer::Landlock,
                message,
            })?,
        );
        *cached = Some(CachedMask {
            built_for: key,
            fd: Arc::clone(&fd),
        });
        Ok(fd)
    }

    fn outcome(&self, finished: Finished, started: Instant, limits: &Limits) -> ExecOutcome {
        let status = finished.wait_status;
        let signal = libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status));
        let exit = if finished.timed_out {
            ExitKind::TimedOut
        } else if let Some(signal) = signal {
            ExitKind::Signaled {
                signal,
                name: ExitKind::signal_name(signal),
            }
        } else {
            ExitKind::Exited(libc::WEXITSTATUS(status))
        };
        let cpu_time = timeval(finished.rusage.ru_utime) + timeval(finished.rusage.ru_stime);
        let limit_hit = if finished.timed_out {
            Some(LimitKind::Timeout)
        } else if finished.cancelled {
            None
        } else if signal == Some(libc::SIGXCPU)
            || (signal == Some(libc::SIGKILL) && cpu_time >= Duration::from_secs(limits.cpu_s))
        {
            Some(LimitKind::Cpu)
        } else if signal == Some(libc::SIGXFSZ) {
            Some(LimitKind::FileSize)
        } else if finished.stdout.truncated || finished.stderr.truncated {
            Some(LimitKind::Output)
        } else {
            None
        };
        ExecOutcome {
            status: exit,
            duration: finished.reaped_at.saturating_duration_since(started),
            stdout: finished.stdout,
            stderr: finished.stderr,
            max_rss_kb: u64::try_from(finished.rusage.ru_maxrss).unwrap_or(0),
            cpu_time,
            layers_active: self.report.active_layers(),
            limit_hit,
            cancelled: finished.cancelled,
        }
    }
}

fn setup_error(layer: Layer, e: impl std::fmt::Display) -> SandboxError {
    SandboxError::LayerSetup {
        layer,
        message: e.to_string(),
    }
}

fn invalid(what: impl Into<String>) -> SandboxError {
    SandboxError::InvalidSpec { what: what.into() }
}

/// Rejects specs the executor must not guess about.
fn validate(spec: &SandboxSpec, report: &LayerReport) -> Result<(), SandboxError> {
    if !spec.program.is_absolute() {
        return Err(invalid(format!(
            "program `{}` is not an absolute path (the policy resolves programs; the executor never searches PATH)",
            spec.program.display()
        )));
    }
    if spec.argv.is_empty() {
        return Err(invalid("argv is empty (argv[0] is required)"));
    }
    if !spec.cwd.is_absolute() {
        return Err(invalid(format!(
            "cwd `{}` is not absolute",
            spec.cwd.display()
        )));
    }
    if spec.run_as.is_some() && (report.termux || report.android_sdk.is_some()) {
        return Err(invalid(
            "run_as is not possible on Android: its app seccomp filter kills setuid with SIGSYS",
        ));
    }
    if spec.limits.timeout.is_zero() {
        return Err(invalid("limits.timeout is zero"));
    }
    Ok(())
}

/// The child's environment: the spec's, with `TMPDIR` pointing at the private tmp.
fn child_env(env: &[(OsString, OsString)], tmp: &PrivateTmp) -> Vec<(OsString, OsString)> {
    let mut out: Vec<(OsString, OsString)> =
        env.iter().filter(|(k, _)| k != "TMPDIR").cloned().collect();
    out.push((OsString::from("TMPDIR"), tmp.path().as_os_str().to_owned()));
    out
}

fn timeval(tv: libc::timeval) -> Duration {
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u32::try_from(tv.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
}

/// The rlimits of a run, each capped at the current hard limit (a child may
/// lower limits, never raise them). RLIMIT_NPROC is set to what the uid runs
/// now plus `max_processes`; it is skipped for uid 0, which the kernel exempts.
fn rlimit_settings(
    limits: &Limits,
    run_as: Option<RunAs>,
) -> Result<Vec<RlimitSetting>, SandboxError> {
    let mut wanted: Vec<(Resource, rlim_t, rlim_t)> = vec![
        (
            Resource::RLIMIT_CPU,
            limits.cpu_s,
            limits.cpu_s.saturating_add(1),
        ),
        (
            Resource::RLIMIT_AS,
            limits.memory_mb.saturating_mul(MIB),
            limits.memory_mb.saturating_mul(MIB),
        ),
        (
            Resource::RLIMIT_FSIZE,
            limits.file_size_mb.saturating_mul(MIB),
            limits.file_size_mb.saturating_mul(MIB),
        ),
        (
            Resource::RLIMIT_NOFILE,
            limits.open_files,
            limits.open_files,
        ),
        (Resource::RLIMIT_CORE, 0, 0),
    ];
    // SAFETY: getuid has no preconditions.
    let uid = run_as.map_or_else(|| unsafe { libc::getuid() }, |owner| owner.uid);
    if uid != 0 {
        let current = tasks_of_uid(uid).map_err(|e| {
            setup_error(
                Layer::Rlimits,
                format!("counting tasks of uid {uid} in /proc: {e}"),
            )
        })?;
        let nproc = current.saturating_add(limits.max_processes);
        wanted.push((Resource::RLIMIT_NPROC, nproc, nproc));
    }
    wanted
        .into_iter()
        .map(|(resource, soft, hard)| {
            let (_, current_hard) = getrlimit(resource).map_err(|e| {
                setup_error(Layer::Rlimits, format!("getrlimit({resource:?}): {e}"))
            })?;
            let hard = hard.min(current_hard);
            Ok(RlimitSetting {
                resource,
                soft: soft.min(hard),
                hard,
            })
        })
        .collect()
}
