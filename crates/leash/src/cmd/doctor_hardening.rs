//! The part of `leash doctor` about the walls that hold when the policy is
//! wrong (issue 15): whom commands run as, whether leash is non-dumpable, and
//! whether per-command cgroups could be used.

use std::path::{Path, PathBuf};

use leash_config::LoadedConfig;
use leash_core::RunAsDecision;
use serde::Serialize;

/// What doctor reports about these walls.
#[derive(Debug, Serialize)]
pub struct Hardening {
    /// leash's effective uid.
    pub uid: u32,
    /// `inherit` (not root), `switch` (root, runs commands as `run_as_user`),
    /// or `refuse` (root without a usable `security.run_as`: nothing runs).
    pub run_as: &'static str,
    pub run_as_user: Option<String>,
    /// Why nothing can run, when `run_as` is `refuse`.
    pub run_as_problem: Option<String>,
    /// leash made itself non-dumpable (its /proc files closed to children).
    pub non_dumpable: bool,
    /// cgroup v2 per-command limits: never used yet; why not.
    pub cgroups: CgroupHealth,
}

#[derive(Debug, Serialize)]
pub struct CgroupHealth {
    pub usable: bool,
    pub note: String,
}

/// Diagnoses with a loaded config (without one, run_as cannot be judged).
pub fn diagnose(loaded: Option<&LoadedConfig>) -> Hardening {
    let uid = nix::unistd::Uid::effective().as_raw();
    let decision = loaded.map(|l| RunAsDecision::decide(l.config.security.run_as.as_deref()));
    let (run_as, run_as_user, run_as_problem) = match decision {
        Some(RunAsDecision::Inherit) | None => ("inherit", None, None),
        Some(RunAsDecision::Switch { user, .. }) => ("switch", Some(user), None),
        Some(RunAsDecision::Refuse(why)) => ("refuse", None, Some(why)),
    };
    Hardening {
        uid,
        run_as,
        run_as_user,
        run_as_problem,
        non_dumpable: leash_sandbox::is_non_dumpable(),
        cgroups: cgroup_health(),
    }
}

/// Whether this process sits in a cgroup v2 subtree it could create children
/// in, with the pids, memory and cpu controllers enabled.
fn cgroup_health() -> CgroupHealth {
    let unusable = |note: String| CgroupHealth {
        usable: false,
        note: format!(
            "{note}; per-command cgroups are not used: commands are held by rlimits (RLIMIT_NPROC with run_as), the timeout and the process-group kill"
        ),
    };
    let Ok(own) = std::fs::read_to_string("/proc/self/cgroup") else {
        return unusable("/proc/self/cgroup is unreadable".to_owned());
    };
    let Some(path) = own.lines().find_map(|l| l.strip_prefix("0::")) else {
        return unusable("no cgroup v2 hierarchy (only v1 controllers)".to_owned());
    };
    let mount = [
        PathBuf::from("/sys/fs/cgroup"),
        PathBuf::from("/sys/fs/cgroup/unified"),
    ]
    .into_iter()
    .find(|m| m.join("cgroup.controllers").exists());
    let Some(mount) = mount else {
        return unusable("cgroup v2 is not mounted".to_owned());
    };
    let dir = mount.join(path.trim_start_matches('/'));
    let controllers = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    let missing: Vec<&str> = ["pids", "memory", "cpu"]
        .into_iter()
        .filter(|c| !controllers.split_whitespace().any(|x| x == *c))
        .collect();
    if !missing.is_empty() {
        return unusable(format!(
            "cgroup v2 at {} lacks the {} controller(s) (not delegated here)",
            dir.display(),
            missing.join(", ")
        ));
    }
    if !writable(&dir) {
        return unusable(format!("{} is not writable by leash", dir.display()));
    }
    unusable(format!(
        "{} could hold per-command cgroups, but leash does not create them yet",
        dir.display()
    ))
}

fn writable(dir: &Path) -> bool {
    nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_ok()
}

/// Problems that make doctor fail.
pub fn problems(h: &Hardening) -> Vec<String> {
    h.run_as_problem
        .iter()
        .map(|why| format!("nothing can run: {why}"))
        .collect()
}

/// The text lines.
pub fn render(h: &Hardening) -> String {
    let who = match (h.run_as, &h.run_as_user) {
        ("switch", Some(user)) => format!("as {user} (leash is root; security.run_as)"),
        ("refuse", _) => "NOTHING RUNS (leash is root and security.run_as is unusable)".to_owned(),
        _ => format!("as leash's own user (uid {})", h.uid),
    };
    format!(
        "commands run  {who}\nnon-dumpable  {}\ncgroups       {}\n",
        if h.non_dumpable {
            "yes (children cannot read leash's /proc files)"
        } else {
            "no"
        },
        h.cgroups.note
    )
}
