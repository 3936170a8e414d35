//! Finding out, once at startup, which layers this kernel offers.
//!
//! Probes that could kill the caller on a hostile kernel (Landlock on some
//! Android kernels, installing a seccomp filter) run in a forked child that only
//! makes the system call and exits.

use std::io;

use crate::cgroup::Hierarchy;
use crate::child_plan::{SeccompProgram, seccomp_programs};
use crate::landlock_rules::TARGET_ABI_NUMBER;
use crate::layer::{Layer, LayerReport, LayerStatus};
use crate::platform::{self, ForkedEnd};

/// `landlock_create_ruleset`: the same number on every architecture leash runs on.
const SYS_LANDLOCK_CREATE_RULESET: libc::c_long = 444;
/// `LANDLOCK_CREATE_RULESET_VERSION`: ask for the ABI instead of creating.
const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
/// The first Android SDK whose kernels ship Landlock (Android 16).
const ANDROID_LANDLOCK_MIN_SDK: u32 = 36;
/// Forked probes report an errno as `ERRNO_EXIT_BASE + errno`.
const ERRNO_EXIT_BASE: i32 = 100;

/// Probes every layer. Cheap enough to call once per process; the result is
/// what [`crate::Executor::new`] takes.
pub fn probe() -> LayerReport {
    let termux = platform::is_termux();
    let android_sdk = if platform::is_android(termux) {
        platform::android_sdk()
    } else {
        None
    };
    let android = platform::is_android(termux);
    let mut layers: Vec<LayerStatus> = Layer::ALL
        .into_iter()
        .map(|layer| probe_layer(layer, android, android_sdk))
        .collect();
    let sealed = layers
        .iter()
        .any(|s| s.layer == Layer::Seccomp && s.is_active());
    let contained = layers
        .iter()
        .any(|s| s.layer == Layer::Cgroup && s.is_active());
    for status in &mut layers {
        if status.layer == Layer::ProcessGroup {
            status.detail = Some(if contained {
                "descendants that leave the group are still killed through the command's cgroup"
                    .to_owned()
            } else if sealed {
                "setsid/setpgid are denied by the seccomp layer: no descendant can leave the group"
                    .to_owned()
            } else {
                "without seccomp a descendant can leave the group with setsid/setpgid and outlive the timeout".to_owned()
            });
        }
    }
    LayerReport {
        layers,
        kernel: platform::kernel(),
        termux,
        android_sdk,
    }
}

fn probe_layer(layer: Layer, android: bool, android_sdk: Option<u32>) -> LayerStatus {
    match layer {
        Layer::Exec | Layer::Cwd | Layer::StdinNull | Layer::EnvScrub | Layer::OutputCap => {
            LayerStatus::active(layer)
        }
        Layer::ProcessGroup => LayerStatus::active(layer),
        Layer::Rlimits => probe_rlimits(),
        Layer::NoNewPrivs => probe_no_new_privs(),
        Layer::Landlock => probe_landlock(android, android_sdk),
        Layer::Seccomp => probe_seccomp(),
        Layer::Cgroup => probe_cgroup(),
    }
}

/// The cgroup probe: a cgroup2 mount, leash's own v2 cgroup, a probe cgroup
/// made and removed there, `cgroup.kill`; the detail names the limits the
/// enabled controllers allow and the ones they do not.
fn probe_cgroup() -> LayerStatus {
    let hierarchy = match Hierarchy::discover().and_then(|h| h.check_writable().map(|()| h)) {
        Ok(hierarchy) => hierarchy,
        Err(why) => return LayerStatus::unavailable(Layer::Cgroup, why),
    };
    let limits = hierarchy
        .missing_limits()
        .unwrap_or_else(|| "pids.max, memory.max and cpu.max set from security.limits".to_owned());
    LayerStatus::active(Layer::Cgroup).with_detail(format!(
        "one cgroup per command under {}, killed whole with cgroup.kill; {limits}",
        hierarchy.parent.display()
    ))
}

fn errno_text(errno: i32) -> String {
    let name = nix::errno::Errno::from_raw(errno);
    format!("{name:?}: {}", io::Error::from_raw_os_error(errno))
}

fn probe_rlimits() -> LayerStatus {
    match nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_AS) {
        Err(errno) => {
            LayerStatus::unavailable(Layer::Rlimits, format!("getrlimit failed: {errno}"))
        }
        Ok(_) => {
            // SAFETY: getuid has no preconditions.
            let status = LayerStatus::active(Layer::Rlimits);
            if unsafe { libc::getuid() } == 0 {
                status.with_detail(
                    "running as root: RLIMIT_NPROC is not enforced for root, so a fork bomb is \
                     held only by the timeout and CPU/memory limits unless the spec's run_as \
                     drops to another uid",
                )
            } else {
                status
            }
        }
    }
}

fn probe_no_new_privs() -> LayerStatus {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) };
    if rc < 0 {
        let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        LayerStatus::unavailable(
            Layer::NoNewPrivs,
            format!(
                "PR_GET_NO_NEW_PRIVS failed ({}); kernel older than 3.5?",
                errno_text(errno)
            ),
        )
    } else {
        LayerStatus::active(Layer::NoNewPrivs)
    }
}

/// The Landlock probe: gated by Android's SDK, then asked in a forked child.
fn probe_landlock(android: bool, android_sdk: Option<u32>) -> LayerStatus {
    if android {
        match android_sdk {
            None => {
                return LayerStatus::unavailable(
                    Layer::Landlock,
                    "Android detected but its SDK level is unknown; Landlock probing can be \
                     fatal on older Android kernels, so it is not attempted",
                );
            }
            Some(sdk) if sdk < ANDROID_LANDLOCK_MIN_SDK => {
                return LayerStatus::unavailable(
                    Layer::Landlock,
                    format!(
                        "Android SDK {sdk} < {ANDROID_LANDLOCK_MIN_SDK}: Landlock is absent and \
                         probing it can be fatal on these kernels, so it is not attempted"
                    ),
                );
            }
            Some(_) => {}
        }
    }
    let ask_abi = || -> libc::c_int {
        // SAFETY: raw system call with a NULL attr and size 0, as the
        // LANDLOCK_CREATE_RULESET_VERSION query requires.
        let abi = unsafe {
            libc::syscall(
                SYS_LANDLOCK_CREATE_RULESET,
                std::ptr::null::<libc::c_void>(),
                0usize,
                LANDLOCK_CREATE_RULESET_VERSION,
            )
        };
        if abi >= 0 {
            abi.clamp(0, i64::from(ERRNO_EXIT_BASE - 1)) as libc::c_int
        } else {
            let errno = io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO);
            ERRNO_EXIT_BASE + errno.clamp(1, 155)
        }
    };
    match platform::in_forked_child(&ask_abi) {
        Err(e) => {
            LayerStatus::unavailable(Layer::Landlock, format!("forking the probe failed: {e}"))
        }
        Ok(ForkedEnd::Signaled(signal)) => LayerStatus::unavailable(
            Layer::Landlock,
            format!(
                "the probe child was killed by {}: this kernel does not tolerate Landlock calls",
                crate::ExitKind::signal_name(signal)
            ),
        ),
        Ok(ForkedEnd::Exited(code)) if code >= ERRNO_EXIT_BASE => {
            let errno = code - ERRNO_EXIT_BASE;
            let why = match errno {
                libc::ENOSYS => "kernel built without Landlock (ENOSYS)".to_owned(),
                libc::EOPNOTSUPP => {
                    "Landlock is built in but disabled at boot (EOPNOTSUPP; add landlock to lsm=)"
                        .to_owned()
                }
                other => format!("landlock_create_ruleset failed: {}", errno_text(other)),
            };
            LayerStatus::unavailable(Layer::Landlock, why)
        }
        Ok(ForkedEnd::Exited(0)) => {
            LayerStatus::unavailable(Layer::Landlock, "the kernel reported Landlock ABI 0")
        }
        Ok(ForkedEnd::Exited(abi)) => {
            let used = abi.min(TARGET_ABI_NUMBER);
            let mut detail = format!("landlock ABI {abi} (leash uses up to ABI {used})");
            if abi < 4 {
                detail
                    .push_str("; TCP is not covered below ABI 4 (seccomp's socket rule still is)");
            }
            LayerStatus::active(Layer::Landlock).with_detail(detail)
        }
    }
}

/// The seccomp probe: is filter mode there, does our filter compile for this
/// architecture, and does the kernel accept it (installed in a forked child).
fn probe_seccomp() -> LayerStatus {
    // SAFETY: prctl with integer arguments only.
    let mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    if mode < 0 {
        let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        return LayerStatus::unavailable(
            Layer::Seccomp,
            format!(
                "PR_GET_SECCOMP failed ({}): kernel without seccomp",
                errno_text(errno)
            ),
        );
    }
    let programs: Vec<SeccompProgram> = match seccomp_programs(false) {
        Ok(programs) => programs,
        Err(why) => return LayerStatus::unavailable(Layer::Seccomp, why),
    };
    let install = || -> libc::c_int {
        // SAFETY: prctl with integer arguments; the programs were built before
        // the fork and outlive the calls.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return ERRNO_EXIT_BASE
                + io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO);
        }
        for program in &programs {
            let fprog = libc::sock_fprog {
                len: program.len().min(usize::from(u16::MAX)) as u16,
                filter: program.as_ptr().cast::<libc::sock_filter>().cast_mut(),
            };
            // SAFETY: see above; the kernel copies the program.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    0,
                    &fprog as *const libc::sock_fprog,
                )
            };
            if rc != 0 {
                let errno = io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO);
                return ERRNO_EXIT_BASE + errno.clamp(1, 155);
            }
        }
        0
    };
    match platform::in_forked_child(&install) {
        Err(e) => {
            LayerStatus::unavailable(Layer::Seccomp, format!("forking the probe failed: {e}"))
        }
        Ok(ForkedEnd::Signaled(signal)) => LayerStatus::unavailable(
            Layer::Seccomp,
            format!(
                "the probe child was killed by {} while installing the filter",
                crate::ExitKind::signal_name(signal)
            ),
        ),
        Ok(ForkedEnd::Exited(0)) => {
            let mut detail = format!(
                "filter mode; {} system calls denied, sockets limited to AF_UNIX when network is off",
                crate::child_plan::seccomp_denied_count()
            );
            if mode == 2 {
                detail.push_str("; leash already runs under a filter (e.g. Android's app filter), which stays underneath");
            }
            LayerStatus::active(Layer::Seccomp).with_detail(detail)
        }
        Ok(ForkedEnd::Exited(code)) => LayerStatus::unavailable(
            Layer::Seccomp,
            format!(
                "installing the filter failed: {}",
                errno_text(code.saturating_sub(ERRNO_EXIT_BASE))
            ),
        ),
    }
}
